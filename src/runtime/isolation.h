// Isolation of a host step: what a step's init (sandbox.cc) does between mounting the
// step's view of the host and starting its command, so that a step running as root with
// the host's tools cannot undo its sandbox or reach skiff's own data:
//   - devices: a private /dev (null, zero, full, random, urandom, tty, its own devpts and
//     /dev/shm), so the host's disks cannot be read raw;
//   - the kernel's knobs: /proc/sys, /proc/sysrq-trigger, ..., and /sys read-only (a
//     writable core_pattern or uevent_helper runs a program as root outside the sandbox);
//   - skiff's state: its directories and files appear empty;
//   - capabilities: only kStepCapabilities in every set, and no_new_privs. Without
//     CAP_SYS_ADMIN a step cannot unmount or mount anything; without CAP_DAC_READ_SEARCH it
//     cannot open files by handle (open_by_handle_at) past its mounts.
// Every function runs in a freshly cloned child of a multi-threaded process: system calls
// only, no allocation. Each returns nullptr on success, or what failed (errno says why).
#pragma once

#include <cstdint>

namespace skiff::runtime::isolation {

// What ordinary build steps need as root: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL,
// SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, AUDIT_WRITE (Docker's default set
// without MKNOD, NET_RAW and SETFCAP: a host step has no device cgroup, shares the host's
// network, where raw sockets would see other clients' traffic, and writes the host's files).
extern const uint64_t kStepCapabilities;

// Marks the mount at `target` (and, if `recursive`, every mount below it) read-only.
const char* make_read_only(const char* target, bool recursive);

// Clears the read-only mark of the mount at `target` alone: a volume bound under a root
// that make_read_only made read-only.
const char* make_writable(const char* target);

// Replaces the host's /dev with a private one (after /proc is mounted).
const char* mount_private_dev();

// /proc's and /sys's writable kernel settings become read-only; files that describe the
// kernel's memory, keys and timers read as empty (after mount_private_dev).
const char* protect_kernel_files();

// Covers the directory `path` with an empty read-only tmpfs, or the file `path` with an
// empty file (nothing when it does not exist).
const char* hide(const char* path);

// Limits every capability set to kStepCapabilities and sets no_new_privs.
const char* drop_privileges();

}  // namespace skiff::runtime::isolation
