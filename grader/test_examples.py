"""The examples (examples/, issue 13) served to real clients: built against
the latest present stage with I/O (phase5_io or later, release) the way a
program outside the repository builds (examples/Makefile: pkg-config), started
on 127.0.0.1 on a port they choose (they print it first), and driven by Python
sockets, curl and wrk. Every step has a timeout, and the servers are killed at
the end. Skipped, with the reason, while phase5_io has no src/io.cpp, in a tree
without examples/ (starter trees), or without curl or wrk (`make deps`
installs them).

Phase 6's parallel programs (parallel_sort, matmul, mandelbrot) are run with
small arguments on 2 workers: each must exit 0 (it checks its own result
against a serial run) and print its speedup; the PNG mandelbrot writes is
parsed here. Skipped while phase6_tasks is not present (the Makefile builds
them only for it or a later stage)."""

import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader import stages

EXAMPLES = stages.ROOT / "examples"
STEP = 10  # seconds: the bound of any step that should take milliseconds
RUN = 60  # seconds: the bound of a run of a parallel example (they take well under 1 s)
WRK_SECONDS = 2


def io_stage():
    """The latest present stage that has phase 5's I/O, or None."""
    with_io = stages.STAGES[stages.STAGES.index("phase5_io"):]
    present = [s for s in stages.present_stages() if s in with_io]
    return present[-1] if present else None


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    """Directory of the built examples."""
    if not (stages.ROOT / "phase5_io" / "src" / "io.cpp").exists():
        pytest.skip("phase5_io has no src/io.cpp yet: the examples need its green::io")
    if not (EXAMPLES / "Makefile").exists():
        pytest.skip("this tree has no examples/ (starter trees leave them out)")
    out = tmp_path_factory.mktemp("examples")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    made = subprocess.run(["make", "--no-print-directory", "-C", EXAMPLES, f"STAGE={io_stage()}",
                           "MODE=release", f"OUT={out}", "CXXFLAGS=-Werror"],
                          env=env, capture_output=True, text=True, timeout=stages.BUILD_TIMEOUT)
    assert made.returncode == 0, f"the examples do not build:\n{made.stdout[-3000:]}{made.stderr[-3000:]}"
    return out


class Server:
    """An example server in its own process group; its first line out is its port."""

    def __init__(self, argv, log):
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], STEP)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.stop()
            pytest.fail(f"{argv[0]} printed no port within {STEP} s (got {line!r}); "
                        f"its stderr: {self.stderr()}", pytrace=False)
        self.port = int(line)

    def stderr(self):
        return self.log.read_text(errors="replace")[-2000:]

    def check_alive(self):
        if self.proc.poll() is not None:
            pytest.fail(f"the server exited ({self.proc.returncode}); its stderr: {self.stderr()}", pytrace=False)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(STEP)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def echo_server(programs, tmp_path_factory):
    server = Server([programs / "echo_server", 0, 2], tmp_path_factory.mktemp("echo") / "stderr")
    yield server
    server.stop()


SECRET = b"not for the web\n"
FILES = {  # the static directory's files: name -> (bytes, the Content-Type it must get)
    "index.html": (b"<!doctype html><title>green</title><p>hello</p>\n", "text/html"),
    "notes.txt": (b"plain text\n" * 100, "text/plain"),
    "style.css": (b"p { color: green; }\n", "text/css"),
    "app.js": (b"console.log('green');\n", "text/javascript"),
    "sub/data.bin": (os.urandom(300_000), "application/octet-stream"),
}


@pytest.fixture(scope="module")
def http_server(programs, tmp_path_factory):
    root = tmp_path_factory.mktemp("http")
    (root / "secret.txt").write_bytes(SECRET)  # beside the static directory, not in it
    for name, (data, _) in FILES.items():
        (root / "static" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "static" / name).write_bytes(data)
    server = Server([programs / "http_server", 0, 2, root / "static"], root / "stderr")
    yield server
    server.stop()


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=STEP)


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError(f"the connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def recv_all(sock):
    """Everything until the server closes (each recv bounded by the socket's timeout)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# ---- echo ----------------------------------------------------------------------

def echo_client(port, seed):
    """100 round trips of 1 byte to 10 KB (more than the server's 4 KiB reads),
    then a half-close: the server must close its side once all is echoed."""
    with connect(port) as s:
        for i in range(100):
            msg = bytes((seed + i + j) % 256 for j in range(1 + (seed * 7919 + i * 104729) % 10_000))
            s.sendall(msg)
            assert recv_exactly(s, len(msg)) == msg
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == b""
    return True


def test_echo_round_trips_with_concurrent_clients(echo_server):
    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(echo_client, [echo_server.port] * 16, range(16), timeout=6 * STEP))
    echo_server.check_alive()


def test_echo_serves_hundreds_of_connections_open_at_once(echo_server):
    socks = [connect(echo_server.port) for _ in range(300)]
    try:
        for i, s in enumerate(socks):
            s.sendall(f"message {i}\n".encode())
        for i, s in enumerate(socks):
            assert recv_exactly(s, len(f"message {i}\n")) == f"message {i}\n".encode()
    finally:
        for s in socks:
            s.close()
    echo_server.check_alive()


# ---- http ----------------------------------------------------------------------

def curl(*args):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed (make deps installs it)")
    return subprocess.run(["curl", "-sS", "--max-time", str(STEP), *args], capture_output=True,
                          timeout=STEP + 5)


def url(server, path):
    return f"http://127.0.0.1:{server.port}{path}"


def parse_responses(data, bodiless=()):
    """[(status, {header: value}, body)] of the responses in data, in order;
    those at the indexes `bodiless` (answers to HEAD) have no body."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"an incomplete response: {data[:200]!r}"
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        n = 0 if len(out) in bodiless else int(headers["content-length"])
        assert len(rest) >= n, f"a body shorter than its Content-Length: {data[:200]!r}"
        out.append((int(status_line.split()[1]), headers, rest[:n]))
        data = rest[n:]
    return out


def read_response(sock):
    """One response from a connection that stays open: the head, then Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"the connection closed mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    n = int(re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head).group(1))
    return parse_responses(head + b"\r\n\r\n" + body + recv_exactly(sock, n - len(body)))[0]


def test_http_hello_world_and_keep_alive_with_curl(http_server):
    run = curl("-v", url(http_server, "/"), url(http_server, "/"))
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout == b"Hello, world!\n" * 2
    log = run.stderr.decode()
    assert "Re-using existing connection" in log, f"curl opened a new connection for the second URL:\n{log}"
    assert re.search(r"(?i)< content-type: text/plain", log) and re.search(r"(?i)< content-length: 14", log)
    http_server.check_alive()


@pytest.mark.parametrize("name", FILES)
def test_http_static_files_come_byte_exact_with_their_content_type(http_server, tmp_path, name):
    data, kind = FILES[name]
    run = curl("-o", tmp_path / "got", "-w", "%{http_code} %{content_type}", url(http_server, f"/static/{name}"))
    assert run.returncode == 0, run.stderr.decode()
    code, content_type = run.stdout.decode().split(" ", 1)
    assert code == "200" and content_type.startswith(kind), run.stdout
    assert (tmp_path / "got").read_bytes() == data


@pytest.mark.parametrize("path", ["/static/missing.txt", "/static/sub/", "/nothing/here", "/static"])
def test_http_what_is_not_there_is_404(http_server, path):
    run = curl("-o", "/dev/null", "-w", "%{http_code}", url(http_server, path))
    assert run.returncode == 0 and run.stdout == b"404", (path, run.stdout, run.stderr)


@pytest.mark.parametrize("path", ["/static/../secret.txt", "/static/sub/../../secret.txt",
                                  "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt"])
def test_http_paths_out_of_the_static_directory_are_refused(http_server, path):
    run = curl("--path-as-is", "-w", "\n%{http_code}", url(http_server, path))
    assert run.returncode == 0, run.stderr.decode()
    body, _, code = run.stdout.rpartition(b"\n")
    assert code in (b"403", b"404") and SECRET not in body, (path, run.stdout)


def test_http_pipelined_requests_are_answered_in_order(http_server):
    with connect(http_server.port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /static/notes.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = parse_responses(recv_all(s), bodiless=(3,))
    assert [(status, body) for status, _, body in got] == [
        (200, b"Hello, world!\n"), (200, FILES["notes.txt"][0]), (404, b"Not Found\n"), (200, b""),
        (200, b"Hello, world!\n")]
    assert got[3][1]["content-length"] == "14" and got[-1][1].get("connection") == "close"


def test_http_connection_close_and_http_1_0_end_the_connection(http_server):
    for request in (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n"):
        with connect(http_server.port) as s:
            s.sendall(request)
            [(status, _, body)] = parse_responses(recv_all(s))  # recv_all: the server closed
            assert (status, body) == (200, b"Hello, world!\n")


def test_http_1_0_keep_alive_stays_open(http_server):
    with connect(http_server.port) as s:
        s.sendall(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, headers, body = read_response(s)
        assert (status, body, headers.get("connection", "").lower()) == (200, b"Hello, world!\n", "keep-alive")
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        [(status, _, body)] = parse_responses(recv_all(s))
        assert (status, body) == (200, b"Hello, world!\n")


@pytest.mark.parametrize("request_bytes", [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",  # no Host
                                           b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                                           b"GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n",
                                           b"GET nothing HTTP/1.1\r\nHost: x\r\n\r\n"])
def test_http_a_malformed_request_gets_400_and_the_connection_ends(http_server, request_bytes):
    with connect(http_server.port) as s:
        s.sendall(request_bytes)
        data = recv_all(s)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    [(status, headers, _)] = parse_responses(data)
    assert headers.get("connection") == "close"
    http_server.check_alive()


def test_http_under_wrk_100_connections(http_server):
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (make deps installs it)")
    run = subprocess.run(["wrk", "-t1", "-c100", f"-d{WRK_SECONDS}s", url(http_server, "/")],
                         capture_output=True, text=True, timeout=WRK_SECONDS + 30)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    requests = re.search(r"(\d+) requests in", out)
    assert requests and int(requests.group(1)) > 0, out
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    assert not errors or not any(int(n) for n in errors.groups()), out
    assert "Non-2xx or 3xx responses" not in out, out
    http_server.check_alive()


# ---- phase 6: the parallel programs ------------------------------------------

@pytest.fixture(scope="module")
def task_programs(programs):
    """Directory of the built examples, phase 6's among them."""
    if not stages.is_present("phase6_tasks"):
        pytest.skip("phase6_tasks is not present: the parallel examples need its tasks")
    return programs


def run_example(argv):
    """Runs an example to its end; returns its stdout, failing on a non-zero exit."""
    argv = [str(a) for a in argv]
    try:
        run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=RUN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(argv)} did not end within {RUN} s", pytrace=False)
    assert run.returncode == 0, f"{' '.join(argv)} exited {run.returncode}:\n{run.stdout}{run.stderr}"
    assert re.search(r"speedup \d+\.\d+x", run.stdout), f"no speedup printed:\n{run.stdout}"
    return run.stdout


def test_parallel_sort_sorts_like_std_sort_and_prints_its_speedup(task_programs):
    out = run_example([task_programs / "parallel_sort", 300_000, 2])  # count, workers
    assert "2 workers" in out and "equal" in out, out


def test_matmul_equals_the_serial_product_and_prints_its_speedup(task_programs):
    out = run_example([task_programs / "matmul", 200, 32, 2])  # n (not a multiple of 32), block, workers
    assert "2 workers" in out and "equal" in out, out


def png_chunks(data):
    """[(type, body)] of a PNG file's chunks, each one's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"no PNG signature: {data[:8]!r}"
    chunks, pos = [], 8
    while pos < len(data):
        assert pos + 12 <= len(data), f"a truncated chunk at byte {pos}"
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert len(body) == length and crc == zlib.crc32(kind + body), f"chunk {kind!r}: bad length or CRC"
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def test_mandelbrot_writes_a_valid_png_and_prints_its_speedup(task_programs, tmp_path):
    path, width, height = tmp_path / "m.png", 321, 200
    out = run_example([task_programs / "mandelbrot", path, width, height, 2])
    assert str(path) in out, out
    chunks = png_chunks(path.read_bytes())
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds, kinds
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (w, h, depth, interlace) == (width, height, 8, 0), chunks[0][1]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]  # grey, RGB, grey + alpha, RGBA
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))  # checks Adler-32
    assert len(raw) == width * height * channels + height  # a filter byte starts each row
    rows = [raw[y * (width * channels + 1):(y + 1) * (width * channels + 1)] for y in range(height)]
    assert all(row[0] <= 4 for row in rows), "a row with an unknown filter type"
    assert len(set(raw)) > 2, "the image is blank"
