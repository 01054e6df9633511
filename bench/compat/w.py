# python3 workload of bench/compat.ts: threads, subprocess, fork, alarm, mmap, a ctypes
# callback, sqlite3, asyncio and a multiprocessing pool of 2, each printing a deterministic result.
import asyncio
import ctypes
import hashlib
import mmap
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time


def square(x):
    return x * x


def main():
    res = [0] * 4

    def work(i):
        res[i] = sum(j * j for j in range(5000 * (i + 1)))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("threads", res)

    p = subprocess.run([sys.executable, "-c", "import sys; print(6 * 7); sys.exit(3)"], capture_output=True, text=True)
    print("subprocess", p.returncode, p.stdout.strip())

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, b"child says hi")
        os._exit(7)
    os.close(w)
    data = os.read(r, 100)
    _, st = os.waitpid(pid, 0)
    print("fork", data.decode(), os.waitstatus_to_exitcode(st))

    fired = []
    signal.signal(signal.SIGALRM, lambda s, f: fired.append(s))
    signal.alarm(1)
    t0 = time.monotonic()
    while not fired and time.monotonic() - t0 < 30:
        time.sleep(0.02)
    print("alarm", fired == [signal.SIGALRM])

    m = mmap.mmap(-1, 1 << 20)
    m[0:5] = b"hello"
    m[-5:] = b"world"
    print("mmap anon", m[0:5], m[-5:], m.find(b"world"))
    with open("mmap.bin", "wb") as f:
        f.truncate(1 << 16)
    with open("mmap.bin", "r+b") as f:
        fm = mmap.mmap(f.fileno(), 0)
        for i in range(0, 1 << 16, 4096):
            fm[i : i + 8] = i.to_bytes(8, "little")
        fm.flush()
        fm.close()
    print("mmap file", hashlib.sha256(open("mmap.bin", "rb").read()).hexdigest()[:16])

    libc = ctypes.CDLL(None)
    arr = (ctypes.c_int * 10)(5, 3, 9, 1, 7, 2, 8, 6, 4, 0)
    calls = [0]
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))

    def cmp(a, b):
        calls[0] += 1
        return a[0] - b[0]

    libc.qsort(arr, len(arr), ctypes.sizeof(ctypes.c_int), CMP(cmp))
    print("ctypes qsort", list(arr), calls[0] > 0)

    db = sqlite3.connect(":memory:")
    db.execute("create table t (k integer primary key, v text)")
    db.executemany("insert into t (v) values (?)", [(f"row{i * 7 % 101}",) for i in range(500)])
    print("sqlite3", db.execute("select count(*), count(distinct v), min(v), max(v) from t").fetchone())

    async def worker(q, out):
        while True:
            x = await q.get()
            if x is None:
                return
            await asyncio.sleep(0.001)
            out.append(x * 3)

    async def amain():
        q, out = asyncio.Queue(), []
        ws = [asyncio.create_task(worker(q, out)) for _ in range(3)]
        for i in range(30):
            await q.put(i)
        for _ in ws:
            await q.put(None)
        await asyncio.gather(*ws)
        return sum(out), len(out)

    print("asyncio", asyncio.run(amain()))

    with multiprocessing.Pool(2) as pool:
        print("multiprocessing", pool.map(square, range(20)))


if __name__ == "__main__":
    main()
