// Which of CPython's regression tests run: the full selection (`npm run conformance`) and the
// quick one `npm test` runs (test/e2e/conformance.test.ts). Both are chosen for what the HRT
// changes: system calls, signals, threads, processes, memory, files, sockets and time, plus a
// few compute-heavy modules (math, re, json, hashlib, zlib) where nothing is forwarded.
export const FULL = [
  'test_os',
  'test_posix',
  'test_signal',
  'test_threading',
  'test_thread',
  'test_subprocess',
  'test_fork1',
  'test_mmap',
  'test_select',
  'test_poll',
  'test_epoll',
  'test_selectors',
  'test_socket',
  'test_time',
  'test_fcntl',
  'test_fileio',
  'test_file',
  'test_shutil',
  'test_tempfile',
  'test_pty',
  'test_resource',
  'test_faulthandler',
  'test_sys',
  'test_gc',
  'test_math',
  'test_json',
  'test_re',
  'test_hashlib',
  'test_zlib',
  'test_sqlite3',
  'test_ctypes',
  'test_concurrent_futures',
];

/** A few minutes of guest time: signals, threads, fork, mmap, select/poll/epoll, fcntl, pty,
 *  resource, file I/O and time. */
export const SMOKE = [
  'test_signal',
  'test_thread',
  'test_fork1',
  'test_mmap',
  'test_select',
  'test_poll',
  'test_epoll',
  'test_fcntl',
  'test_pty',
  'test_resource',
  'test_fileio',
  'test_time',
];

/** Within the quick selection, only the test_signal classes that run in the process itself
 *  (most of the others start a child python, which runs natively anyway). */
export const SMOKE_MATCH: Record<string, string[]> = {
  test_signal: [
    'test.test_signal.PosixTests.*',
    'test.test_signal.PendingSignalsTests.*',
    'test.test_signal.ItimerTest.*',
    'test.test_signal.RaiseSignalTest.*',
  ],
};
