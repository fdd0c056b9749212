#!/usr/bin/env python3
"""A real PostgreSQL server for the store tests, from Debian's packages, on 127.0.0.1.

`postgres.py start DIR` makes a cluster in DIR/data (trust auth, user and database
`skiff`, fsync off: the tests check behaviour, not the disk), starts it on a free port
and writes its URL to DIR/url. `postgres.py stop DIR` stops it. As root, the server runs
as the `postgres` user (PostgreSQL refuses to run as root).
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys


def bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    return found[-1]


def as_owner(args):
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(d):
    stop(d)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
    b = bindir()
    as_owner([f"{b}/initdb", "-D", f"{d}/data", "-A", "trust", "-U", "skiff", "--no-sync", "-E", "UTF8"])
    port = free_port()
    opts = f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    as_owner([f"{b}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/server.log", "-o", opts, "-w", "-t", "60", "start"])
    as_owner([f"{b}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "skiff", "skiff"])
    url = f"postgresql://skiff@127.0.0.1:{port}/skiff"
    with open(f"{d}/url", "w") as f:
        f.write(url)
    print(f"postgres on {url}")


def stop(d):
    if os.path.exists(f"{d}/data/postmaster.pid"):
        try:
            as_owner([f"{bindir()}/pg_ctl", "-D", f"{d}/data", "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        raise SystemExit("usage: postgres.py start|stop DIR")
    directory = os.path.abspath(sys.argv[2])
    start(directory) if sys.argv[1] == "start" else stop(directory)
