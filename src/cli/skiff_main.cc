#include "cli/commands.h"

int main(int argc, char** argv) { return skiff::cli::skiff_main(argc, argv); }
