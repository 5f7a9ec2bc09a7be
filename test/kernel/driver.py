"""JSON-lines driver around the Debian jupyter_client, so jest tests can drive the real kernel over real sockets.

Reads one JSON command per line on stdin, writes one JSON result per line on stdout. The kernel is started through
a kernelspec found on JUPYTER_PATH (the test installs it into a temp dir), exactly as Jupyter would start it.
"""
import base64
import json
import os
import signal
import sys
import time
import traceback
from queue import Empty

from jupyter_client.manager import KernelManager


def jsonable(o):
    if isinstance(o, dict):
        return {k: jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(o)).decode()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return o


class Driver:
    def __init__(self):
        self.km = None
        self.kc = None
        # Messages for other requests seen while collecting one (pipelined requests): kept, not dropped.
        self.shell_stash = {}
        self.iopub_stash = {}

    def op_start(self, kernel_name="tinylab", cwd=None, env=None, **_):
        self.km = KernelManager(kernel_name=kernel_name)
        # The kernel's own stdout/stderr must never mix into this JSON-lines stream: send both to our stderr.
        kw = {"stdout": sys.stderr, "stderr": sys.stderr}
        if cwd:
            kw["cwd"] = cwd
        if env:
            e = dict(os.environ)
            e.update(env)
            kw["env"] = e
        t0 = time.time()
        self.km.start_kernel(**kw)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        info = self.km.get_connection_info()
        key = info["key"].decode() if isinstance(info["key"], bytes) else info["key"]
        return {"ready_seconds": time.time() - t0, "pid": self.km.provisioner.process.pid, "key": key}

    def _drain_iopub(self, timeout=0.2):
        out = []
        while True:
            try:
                out.append(self.kc.get_iopub_msg(timeout=timeout))
            except Empty:
                return out

    def op_flush(self, **_):
        return {"drained": len(self._drain_iopub(0.2))}

    def op_send_execute(self, code, **kw):
        args = {k: kw[k] for k in ("silent", "store_history", "user_expressions", "allow_stdin", "stop_on_error") if k in kw}
        return {"msg_id": self.kc.execute(code, **args)}

    def op_collect(self, msg_id, timeout=60, stdin_replies=None, **_):
        """Shell reply + every iopub message with this parent up to status idle; answers input_requests."""
        stdin_replies = list(stdin_replies or [])
        deadline = time.time() + timeout
        outputs, reply, idle, stdin_requests = [], None, False, []
        pending = self.iopub_stash.pop(msg_id, [])
        reply = self.shell_stash.pop(msg_id, None)
        while time.time() < deadline and not (reply is not None and idle):
            try:
                if pending:
                    msg, t = pending.pop(0)
                else:
                    msg, t = self.kc.get_iopub_msg(timeout=0.05), time.time()
                parent = msg["parent_header"].get("msg_id")
                if parent == msg_id:
                    if msg["msg_type"] == "status":
                        idle = idle or msg["content"]["execution_state"] == "idle"
                    else:
                        outputs.append({"msg_type": msg["msg_type"], "content": msg["content"], "t": t})
                else:
                    self.iopub_stash.setdefault(parent, []).append((msg, t))
            except Empty:
                pass
            try:
                msg = self.kc.get_stdin_msg(timeout=0.001)
                stdin_requests.append(msg["content"])
                self.kc.input(stdin_replies.pop(0) if stdin_replies else "")
            except Empty:
                pass
            if reply is None:
                try:
                    msg = self.kc.get_shell_msg(timeout=0.001)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg["content"]
                    else:
                        self.shell_stash[msg["parent_header"].get("msg_id")] = msg["content"]
                except Empty:
                    pass
        return {"reply": reply, "outputs": outputs, "idle": idle, "stdin_requests": stdin_requests}

    def op_execute(self, code, timeout=60, stdin_replies=None, **kw):
        msg_id = self.op_send_execute(code, **kw)["msg_id"]
        return self.op_collect(msg_id, timeout=timeout, stdin_replies=stdin_replies)

    def op_execute_many(self, code, n, **_):
        """n executions back to back; returns statuses count, last reply and the kernel's RSS before/after."""
        statuses = {}
        first_error = None
        rss = [self._rss()]
        t0 = time.time()
        for i in range(n):
            r = self.op_execute(code.replace("$i", str(i)), timeout=30)
            st = (r["reply"] or {}).get("status", "timeout")
            statuses[st] = statuses.get(st, 0) + 1
            if st != "ok" and first_error is None:
                first_error = {"i": i, "reply": r["reply"]}
            if i == n // 10:
                rss.append(self._rss())
        rss.append(self._rss())
        return {"statuses": statuses, "first_error": first_error, "last": r, "rss_kb": rss, "seconds": time.time() - t0}

    def _rss(self):
        pid = self.km.provisioner.process.pid
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def op_rss(self, **_):
        return {"rss_kb": self._rss()}

    def _request(self, method, timeout=30, **kw):
        msg_id = getattr(self.kc, method)(**kw)
        deadline = time.time() + timeout
        while time.time() < deadline:
            msg = self.kc.get_shell_msg(timeout=deadline - time.time())
            if msg["parent_header"].get("msg_id") == msg_id:
                return {"msg_type": msg["msg_type"], "content": msg["content"], "parent_id": msg["parent_header"]["msg_id"]}
        raise TimeoutError(method)

    def op_complete(self, code, cursor_pos=None, **_):
        return self._request("complete", code=code, cursor_pos=cursor_pos)

    def op_inspect(self, code, cursor_pos=None, **_):
        return self._request("inspect", code=code, cursor_pos=cursor_pos)

    def op_is_complete(self, code, **_):
        return self._request("is_complete", code=code)

    def op_history(self, **kw):
        return self._request("history", **kw)

    def op_kernel_info(self, **_):
        return self._request("kernel_info")

    def op_comm_info(self, **_):
        return self._request("comm_info")

    def op_interrupt(self, via="signal", **_):
        if via == "signal":
            os.kill(self.km.provisioner.process.pid, signal.SIGINT)
            return {"sent": "SIGINT"}
        msg = self.kc.session.msg("interrupt_request", {})
        self.kc.control_channel.send(msg)
        reply = self.kc.get_control_msg(timeout=10)
        return {"msg_type": reply["msg_type"], "content": reply["content"]}

    def op_send_raw(self, frames, channel="shell", **_):
        """Send raw frames (base64) on a channel's socket: malformed, unsigned, forged messages."""
        sock = getattr(self.kc, channel + "_channel").socket
        sock.send_multipart([base64.b64decode(f) for f in frames])
        return {"sent": len(frames)}

    def op_send_signed(self, msg_type, content, key=None, channel="shell", **_):
        """A well-formed message signed with `key` (None: the real key; '': no signature)."""
        s = self.kc.session
        msg = s.msg(msg_type, content)
        parts = [s.pack(msg["header"]), s.pack(msg["parent_header"]), s.pack(msg["metadata"]), s.pack(msg["content"])]
        if key is None:
            sig = s.sign(parts)
        elif key == "":
            sig = b""
        else:
            import hmac, hashlib
            h = hmac.new(key.encode(), digestmod=hashlib.sha256)
            for p in parts:
                h.update(p)
            sig = h.hexdigest().encode()
        getattr(self.kc, channel + "_channel").socket.send_multipart([b"<IDS|MSG>", sig] + parts)
        return {"msg_id": msg["header"]["msg_id"]}

    def op_wait_reply(self, msg_id, timeout=5, **_):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=0.1)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return {"reply": {"msg_type": msg["msg_type"], "content": msg["content"]}}
        return {"reply": None}

    def op_bench(self, cells, n=30, warmup=3, complete=None, complete_n=20, comment=None, **_):
        """Round trips (execute_request sent → status idle received) per cell, and complete_request latency."""
        out = {}
        for name, code in cells.items():
            self.op_flush()
            times = []
            for i in range(warmup + n):
                # With `comment`, every run is a new cell (a unique trailing comment), as when a user types code.
                src = f"{code}\n{comment} run {i}" if comment else code
                t0 = time.perf_counter()
                msg_id = self.kc.execute(src)
                # Tight blocking loop (no stdin polling) so the client adds as little as possible to either kernel.
                while True:
                    m = self.kc.get_iopub_msg(timeout=120)
                    if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                        break
                t1 = time.perf_counter()
                reply = self.kc.get_shell_msg(timeout=120)
                if reply["content"].get("status") != "ok":
                    raise RuntimeError(f"{name} failed: {reply['content']}")
                if i >= warmup:
                    times.append(t1 - t0)
            out[name] = times
        if complete:
            code, pos = complete
            self.op_complete(code, cursor_pos=pos)
            times = []
            for _ in range(complete_n):
                t0 = time.perf_counter()
                self.op_complete(code, cursor_pos=pos)
                times.append(time.perf_counter() - t0)
            out["complete"] = times
        return out

    def op_is_alive(self, **_):
        return {"alive": self.km.is_alive()}

    def op_restart(self, **_):
        t0 = time.time()
        old = self.km.provisioner.process.pid
        self.km.restart_kernel(now=False)
        t1 = time.time()
        self.kc.wait_for_ready(timeout=60)
        self.shell_stash.clear()
        self.iopub_stash.clear()
        return {"seconds": time.time() - t0, "shutdown_seconds": t1 - t0, "old_pid": old, "pid": self.km.provisioner.process.pid}

    def op_shutdown(self, **_):
        t0 = time.time()
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)
        return {"seconds": time.time() - t0, "alive": self.km.is_alive()}


def main():
    d = Driver()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        op = cmd.pop("op")
        try:
            res = {"ok": True, "result": jsonable(getattr(d, "op_" + op)(**cmd))}
        except Exception as e:  # report, keep serving
            res = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()
    if d.km is not None and d.km.is_alive():
        d.km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
