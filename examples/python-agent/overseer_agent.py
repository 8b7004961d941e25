#!/usr/bin/env python3
"""A reference Overseer agent in Python 3.9+, standard library only.

It registers over HTTP, then heartbeats, claims and reports over one WebSocket session
(docs/agent-protocol.md, "Sessions"), falling back to the HTTP routes while the session is down.
The RFC 6455 client is written out below so that the file has no dependencies.

Configured by the environment (see README.md). stdout carries only "agent <name> registered <id>"
lines. Exit codes: 0 stopped, 1 failed, 2 bad configuration, 75 after a restart command.
"""

import base64, hashlib, http.client, itertools, json, os, random, signal, socket, ssl, struct  # noqa: E401
import sys, threading, time, urllib.error, urllib.parse, urllib.request  # noqa: E401

SUBPROTOCOL = "overseer.agent.v1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
CLAIM_WAIT_MS = 10_000
GRACE_S = 10.0  # how long SIGTERM waits for in-flight tasks before releasing them
RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: asks the process manager to start us again
TRANSIENT = (OSError, http.client.HTTPException)  # network trouble: retry, never fatal
RETRYABLE_STATUS = (429, 502, 503, 504)


def log(message):
    print(f"overseer_agent[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def backoff(delay):
    """The next delay of an exponential backoff (0.1 s doubling to 5 s); callers add jitter."""
    return min(max(0.1, delay * 2), 5.0)


def mask(data, key):
    # XOR through one big integer: much faster in pure Python than a loop over the bytes.
    n = len(data)
    key = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class HandshakeRefused(Exception):
    def __init__(self, status, body):
        super().__init__(f"session refused: HTTP {status} {body}")
        self.status = status


class WebSocket:
    """The client side of RFC 6455: masked text frames out; text, ping, pong and close frames in."""

    def __init__(self, sock, leftover):
        self.sock, self.buf = sock, bytearray(leftover)
        self.send_lock = threading.Lock()  # frames from several threads must not interleave
        self.close_sent, self.close_code = False, None

    @classmethod
    def connect(cls, base_url, path, headers, timeout=5.0):
        url = urllib.parse.urlsplit(base_url)
        sock = socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout)
        try:
            if url.scheme == "https":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=url.hostname)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small frames: send at once
            key = base64.b64encode(os.urandom(16)).decode()
            lines = [f"GET {path} HTTP/1.1", f"Host: {url.netloc}", "Upgrade: websocket", "Connection: Upgrade",
                     f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
                     f"Sec-WebSocket-Protocol: {SUBPROTOCOL}"] + [f"{k}: {v}" for k, v in headers.items()]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            raw = b""
            while b"\r\n\r\n" not in raw:
                chunk = sock.recv(4096)
                if not chunk or len(raw) > 65536:
                    raise ConnectionError("connection closed during the handshake")
                raw += chunk
            head, rest = raw.split(b"\r\n\r\n", 1)  # rest: frames sent right after the 101
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            got = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
            status = int(status_line.split(" ")[1])
            if status != 101:  # refusals are plain HTTP answers with the usual error body
                length = int(got.get("content-length", "0"))
                while len(rest) < length:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    rest += chunk
                try:
                    body = json.loads(rest[:length] or b"null")
                except ValueError:
                    body = rest[:length]
                raise HandshakeRefused(status, body)
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            if got.get("sec-websocket-accept") != accept:
                raise ConnectionError("bad Sec-WebSocket-Accept")
            if got.get("sec-websocket-protocol") != SUBPROTOCOL:
                raise ConnectionError(f"the daemon did not select {SUBPROTOCOL}")
            sock.settimeout(None)  # the reader blocks; the heartbeats notice a dead connection
            return cls(sock, rest)
        except BaseException:
            sock.close()
            raise

    def send_frame(self, opcode, payload):
        n = len(payload)  # FIN always set: we never fragment; 0x80 in the length byte: masked
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
        key = os.urandom(4)
        with self.send_lock:
            self.sock.sendall(head + key + mask(payload, key))

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def recv(self):
        """The next text message; None once the daemon closed (its code is in close_code)."""
        message = bytearray()
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            key = self._read(4) if b1 & 0x80 else None  # servers do not mask; cope if one does
            payload = mask(self._read(n), key) if key else self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping: answer at once with the same payload
                self.send_frame(0xA, payload)
            elif opcode == 0x8:  # close: echo the code, as RFC 6455 asks
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.close(self.close_code if self.close_code != 1005 else None)
                return None
            elif opcode in (0x0, 0x1, 0x2):  # a message, possibly in continuation frames
                message += payload
                if b0 & 0x80:
                    return message.decode()
            # pongs and unknown opcodes: nothing to do

    def close(self, code=1000):
        if not self.close_sent:
            self.close_sent = True
            try:
                self.send_frame(0x8, struct.pack(">H", code) if code else b"")
            except OSError:
                pass

    def abort(self):
        """Cuts the connection: the reader's recv() fails, and the session loop reconnects."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Pending:
    """One request's answer: (status, body), or None when the connection was lost first."""

    def __init__(self):
        self.lock, self.done = threading.Lock(), threading.Event()
        self.answer, self.late, self.sent_at = None, None, time.monotonic()

    def resolve(self, answer):
        with self.lock:
            self.answer, late = answer, self.late
            self.done.set()
        if late:
            late(answer)

    def then(self, fn):
        """Hands the answer to fn: now if it has come, else when it comes (nobody waits for it)."""
        with self.lock:
            if not self.done.is_set():
                self.late = fn
                return
        fn(self.answer)

    def wait(self, timeout):
        self.done.wait(timeout)
        return self.answer


class Session:
    """One open session of one registration. Its reader thread dispatches answers by `re`."""

    def __init__(self, ws, reg):
        self.ws, self.reg = ws, reg
        self.lock, self.pending, self.ids = threading.Lock(), {}, itertools.count(1)
        self.ended = threading.Event()

    def send(self, op, body, task_id=None):
        pending, message = Pending(), {"op": op, "body": body}
        if task_id:
            message["taskId"] = task_id
        with self.lock:
            if self.ended.is_set():
                raise ConnectionError("session ended")
            message["id"] = next(self.ids)
            self.pending[message["id"]] = pending
        try:
            self.ws.send_text(json.dumps(message))
        except OSError:
            with self.lock:
                self.pending.pop(message["id"], None)
            self.ws.abort()
            raise
        return pending

    def run(self):
        """Reads answers until the connection ends; returns the daemon's close code (None: it broke)."""
        try:
            while True:
                text = self.ws.recv()
                if text is None:
                    break
                message = json.loads(text)
                with self.lock:
                    pending = self.pending.pop(message.get("re"), None)
                if pending is None:  # e.g. a 400 with "re": null, which means a bug here
                    log(f"unmatched session message: {text[:300]}")
                    continue
                body = message["body"] if "body" in message else {"error": message.get("error")}
                pending.resolve((message.get("status"), body))
        except (OSError, ValueError) as err:
            log(f"session of {self.reg.id} broke: {err}")
        finally:
            with self.lock:
                self.ended.set()
                lost, self.pending = list(self.pending.values()), {}
            self.ws.sock.close()
            for pending in lost:  # their callers retry, over the next session or over HTTP
                pending.resolve(None)
        return self.ws.close_code


class Registration:
    def __init__(self, answer):
        self.id, self.token = answer["id"], answer["token"]
        self.heartbeat_s = answer["heartbeatIntervalMs"] / 1000
        self.lease_timeout_s = answer["leaseTimeoutMs"] / 1000


class Task:
    def __init__(self, claimed, reg):
        self.id, self.type, self.payload = claimed["id"], claimed["type"], claimed.get("payload")
        self.attempt, self.lease = claimed["attempt"], claimed["leaseToken"]  # a string: never parse it
        self.deadline = time.monotonic() + claimed["timeoutMs"] / 1000
        self.reg = reg  # reports go with the token of the registration that claimed the task
        self.dropped = threading.Event()  # cancelled, or released at shutdown: report nothing
        self.reporting = False


class Agent:
    def __init__(self, env):
        self.url = env["OVERSEER_URL"].split(",")[0].strip().rstrip("/")  # one daemon URL: no failover
        self.secret = env["OVERSEER_AGENT_SECRET"]
        self.name = env.get("AGENT_NAME") or f"python-{os.getpid()}"
        self.role = env.get("AGENT_ROLE") or "python"
        self.capabilities = [c.strip() for c in env.get("AGENT_CAPABILITIES", "").split(",") if c.strip()]
        if not self.capabilities:
            raise ValueError("AGENT_CAPABILITIES is required (comma-separated task types)")
        canary = f"overseer.canary.{self.role}"  # answer the daemon's dispatch probe, as the SDK does
        if canary not in self.capabilities and len(self.role) <= 48 and len(self.capabilities) < 64:
            self.capabilities.append(canary)
        self.concurrency = int(env.get("AGENT_CONCURRENCY") or 1)
        self.work_s = float(env.get("AGENT_WORK_MS") or 0) / 1000
        if self.concurrency < 1 or self.work_s < 0:
            raise ValueError("AGENT_CONCURRENCY must be >= 1 and AGENT_WORK_MS >= 0")
        self.report_file = env.get("AGENT_REPORT_FILE") or None
        self.lock = threading.Lock()  # guards tasks
        self.slot_freed = threading.Condition(self.lock)
        self.reg_lock, self.report_lock = threading.Lock(), threading.Lock()
        self.tasks, self.reg, self.session = {}, None, None
        self.stopping = threading.Event()  # signal, drain or restart: claim no more
        self.closing = threading.Event()  # deregistering: no more heartbeats, reconnects or registering
        self.exit_code, self.signalled = 0, False
        # No proxies: the WebSocket connects directly, so HTTP does too.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # ---------------------------------------------------------------- transport

    def http(self, method, path, token, body=None, timeout=10.0):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, (json.loads(raw) if raw else None)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def request(self, reg, op, body, task_id=None):
        """Sends one operation over reg's session if it is open, else over HTTP. Returns a Pending."""
        session = self.session
        if session is not None and session.reg is reg:
            try:
                return session.send(op, body, task_id)
            except OSError:
                pass  # the session just broke: this request goes over HTTP
        pending = Pending()
        path = f"/api/tasks/{task_id}/{op}" if task_id else f"/api/agents/{reg.id}/{op}"
        timeout = CLAIM_WAIT_MS / 1000 + 5 if op == "claim" else 5.0

        def call():
            try:
                pending.resolve(self.http("POST", path, reg.token, body, timeout))
            except TRANSIENT:
                pending.resolve(None)

        threading.Thread(target=call, daemon=True).start()
        return pending

    def session_loop(self, reg):
        """Keeps reg's session open: reconnects at once after a drop, then with backoff."""
        delay = 0.0
        while self.reg is reg and not self.closing.is_set():
            if delay:
                self.closing.wait(delay * random.uniform(0.5, 1))
            try:
                ws = WebSocket.connect(self.url, f"/api/agents/{reg.id}/session",
                                       {"Authorization": f"Bearer {reg.token}"})
            except HandshakeRefused as err:
                if err.status in (401, 404):  # the daemon no longer knows this agent
                    return self.reregister(reg)
                log(str(err))  # 503: the replica drains; meanwhile requests go over HTTP
                delay = backoff(delay)
                continue
            except TRANSIENT as err:
                log(f"session connect failed: {err}")
                delay = backoff(delay)
                continue
            session = self.session = Session(ws, reg)
            if self.reg is not reg:  # registered again meanwhile: this session is of no use
                ws.abort()
            self.report("session", agentId=reg.id)
            code = session.run()
            if self.session is session:
                self.session = None
            if self.closing.is_set() or self.reg is not reg:  # shutting down, or registered again
                return None
            if code == 4404:  # declared dead, or left
                return self.reregister(reg)
            log(f"session of {reg.id} closed ({code}): reconnecting")
            delay = 0.0  # at once: within OVERSEER_SESSION_GRACE_MS nothing is lost
        return None

    # ---------------------------------------------------------------- registration

    def register(self):
        """Registers (retrying transient failures) and opens the session. False if stopped first."""
        body = {"name": self.name, "role": self.role, "capabilities": self.capabilities,
                "concurrency": self.concurrency}
        delay = 0.0
        while True:
            try:
                status, answer = self.http("POST", "/api/agents/register", self.secret, body)
            except TRANSIENT as err:
                status, answer = None, err
            if status == 201:
                break
            if status is not None and status not in RETRYABLE_STATUS:
                raise RuntimeError(f"register answered {status}: {answer}")
            delay = backoff(delay)
            log(f"register failed ({status or answer}); again in about {delay:.1f} s")
            if self.stopping.wait(delay * random.uniform(0.5, 1)):
                return False
        self.reg = reg = Registration(answer)
        print(f"agent {self.name} registered {reg.id}", flush=True)
        self.report("registered", agentId=reg.id)
        threading.Thread(target=self.session_loop, args=(reg,), daemon=True).start()
        self.wait_for_session(reg, 2.0)
        return True

    def wait_for_session(self, reg, timeout):
        # Claim over the session rather than in a 10 s HTTP long poll, if it opens soon.
        deadline = time.monotonic() + timeout
        while (self.session is None or self.session.reg is not reg) and time.monotonic() < deadline:
            if self.stopping.wait(0.01):
                return

    def reregister(self, old):
        """Registers again (a new id) after 404/401/4404, unless another thread already did."""
        with self.reg_lock:
            if self.reg is not old or self.stopping.is_set():
                return
            log(f"agent {old.id} is gone: registering again")
            session = self.session
            try:
                self.register()  # tasks still running under the old id will most likely get 409
            except RuntimeError as err:  # e.g. the agent secret changed: nothing more we can do
                log(str(err))
                self.exit_code = 1
                self.stopping.set()
            if session is not None and session.reg is old:
                session.ws.abort()  # the old agent is gone: no goodbye

    # ---------------------------------------------------------------- heartbeats

    def heartbeat_loop(self):
        """Heartbeats on their own thread, so task work cannot delay them."""
        in_flight, next_at = None, time.monotonic()
        while not self.closing.is_set():
            reg = self.reg
            if in_flight is None or in_flight.done.is_set():
                with self.lock:
                    held = [t.id for t in self.tasks.values() if t.reg is reg]
                body = {"status": "draining" if self.stopping.is_set() else "active",
                        "activeTaskIds": held, "load": len(held) / self.concurrency}
                in_flight = self.request(reg, "heartbeat", body)
                in_flight.then(lambda answer, reg=reg: self.on_heartbeat(reg, answer))
            elif time.monotonic() - in_flight.sent_at > reg.lease_timeout_s and self.session:
                # No answer for as long as the daemon waits before declaring us dead: the connection
                # died without a FIN. Cut it, so that the session loop reconnects.
                self.session.ws.abort()
            next_at = max(next_at + reg.heartbeat_s, time.monotonic())
            self.closing.wait(next_at - time.monotonic())

    def on_heartbeat(self, reg, answer):
        if answer is None:
            return  # lost with the connection: the next tick sends another
        status, body = answer
        if status in (401, 404):
            # Not on the reader thread that delivered this answer: registering opens a new session.
            threading.Thread(target=self.reregister, args=(reg,), daemon=True).start()
            return
        if status != 200:
            return log(f"heartbeat answered {status}: {body}")
        for command in body.get("commands", []):
            kind = command.get("type")
            if kind == "cancel":  # the lease has ended: stop, and report nothing
                with self.lock:
                    task = self.tasks.pop(command.get("taskId"), None)
                    self.slot_freed.notify_all()
                if task:
                    task.dropped.set()
                    self.report("cancelled", taskId=task.id, reason=command.get("reason"))
            elif kind in ("drain", "restart"):
                log(f"{kind} command: finishing in-flight tasks, then exiting")
                self.exit_code = RESTART_EXIT_CODE if kind == "restart" else self.exit_code
                self.stopping.set()
            # command types we do not know are ignored, as the protocol asks

    # ---------------------------------------------------------------- claims and tasks

    def claim_loop(self):
        delay, last_empty = 0.0, 0.0
        while not self.stopping.is_set():
            with self.lock:
                free = self.concurrency - len(self.tasks)
                if free <= 0:
                    self.slot_freed.wait(0.5)
                    continue
            reg = self.reg
            pending = self.request(reg, "claim", {"max": free, "waitMs": CLAIM_WAIT_MS})
            # Wait in slices, so a signal is acted on at once. The tasks of a claim answered after
            # that are released: deregistering alone could race the answer.
            while not pending.done.wait(0.1) and not self.stopping.is_set():
                pass
            if not pending.done.is_set():
                pending.then(lambda answer, reg=reg: self.release_claimed(reg, answer))
                return
            answer = pending.answer
            if answer is None:  # the session dropped under the claim: claim again once it is back
                self.wait_for_session(reg, 1.0)
            elif answer[0] in (401, 404):
                self.reregister(reg)
            elif answer[0] != 200:
                delay = backoff(delay)
                log(f"claim answered {answer[0]}; again in about {delay:.1f} s")
                self.stopping.wait(delay * random.uniform(0.5, 1))
            else:
                delay = 0.0
                for claimed in answer[1]["tasks"]:
                    self.start_task(claimed, reg)
                if not answer[1]["tasks"]:  # keep at least 100 ms between empty answers
                    self.stopping.wait(max(0.0, last_empty + 0.1 - time.monotonic()))
                    last_empty = time.monotonic()

    def release_claimed(self, reg, answer):
        for t in answer[1]["tasks"] if answer and answer[0] == 200 else []:
            self.request(reg, "release", {"leaseToken": t["leaseToken"]}, t["id"])

    def start_task(self, claimed, reg):
        task = Task(claimed, reg)
        self.report("claimed", taskId=task.id, attempt=task.attempt, leaseToken=task.lease)
        with self.lock:
            self.tasks[task.id] = task
        threading.Thread(target=self.run_task, args=(task,), daemon=True).start()

    def run_task(self, task):
        try:
            if task.type.startswith("overseer.canary."):  # it measures dispatch: answer at once
                result = {"canary": True, "nonce": (task.payload or {}).get("nonce")}
            else:  # the simulated work: a sleep that a cancel (or shutdown's release) cuts short
                if task.dropped.wait(min(self.work_s, max(0.0, task.deadline - time.monotonic()))):
                    return
                result = {"by": self.name}
            with self.lock:
                if task.dropped.is_set():
                    return
                task.reporting = True  # shutdown now waits for this answer rather than releasing
            if time.monotonic() >= task.deadline:  # stop at timeoutMs ourselves, as the protocol asks
                error = {"message": "timed out", "category": "timeout", "retryable": True}
                status = self.report_lease(task, "fail", {"leaseToken": task.lease, "error": error})
                return self.report("failed", taskId=task.id, status=status, leaseToken=task.lease)
            status = self.report_lease(task, "complete", {"leaseToken": task.lease, "result": result})
            self.report("completed", taskId=task.id, status=status, leaseToken=task.lease)
        finally:
            with self.lock:
                if self.tasks.get(task.id) is task:
                    del self.tasks[task.id]
                self.slot_freed.notify_all()

    def report_lease(self, task, op, body):
        """A lease call, repeated after transport failures (a repeat with the same lease is safe).
        Returns the last status: 409 or 404 mean the lease is gone, so the task is dropped."""
        delay = 0.0
        for _ in range(6):
            answer = self.request(task.reg, op, body, task.id).wait(30)
            if answer is not None and answer[0] not in RETRYABLE_STATUS:
                if answer[0] != 200:
                    log(f"{op} of {task.id} answered {answer[0]}: dropping it")
                return answer[0]
            delay = backoff(delay)
            time.sleep(delay * random.uniform(0.5, 1))
        return None

    # ---------------------------------------------------------------- reports and shutdown

    def report(self, event, **fields):
        if self.report_file:
            line = json.dumps({"event": event, **fields, "agent": self.name, "at": int(time.time() * 1000)})
            with self.report_lock, open(self.report_file, "a") as f:  # O_APPEND: whole lines
                f.write(line + "\n")

    def shutdown(self):
        reg = self.reg
        with self.lock:  # say "draining" at once (the heartbeats go on saying it): no new tasks
            held = [t.id for t in self.tasks.values() if t.reg is reg]
        self.request(reg, "heartbeat", {"status": "draining", "activeTaskIds": held})
        deadline = time.monotonic() + GRACE_S
        with self.lock:
            while self.tasks and time.monotonic() < deadline:
                self.slot_freed.wait(deadline - time.monotonic())
            left = [t for t in self.tasks.values() if not t.reporting]
            for task in left:
                task.dropped.set()
        # A released task is queued again at once, and the attempt does not count.
        releases = [(t, self.request(t.reg, "release", {"leaseToken": t.lease}, t.id)) for t in left]
        for task, pending in releases:
            answer = pending.wait(5)
            self.report("released", taskId=task.id, status=answer and answer[0])
        self.closing.set()
        try:
            status, _ = self.http("DELETE", f"/api/agents/{reg.id}", reg.token, timeout=5)
            if status not in (204, 404):
                log(f"deregister answered {status}")
        except TRANSIENT as err:
            log(f"deregister failed: {err}")
        session = self.session
        if session is not None:  # the goodbye: this close is not a death
            try:
                session.ws.send_text(json.dumps({"op": "bye"}))
                session.ended.wait(2)  # the daemon closes with 1000, and the reader echoes it
            except OSError:
                pass
            session.ws.close(1000)
            session.ws.abort()
        self.report("stopped", agentId=reg.id)

    def run(self):
        def on_signal(signum, _frame):
            if self.signalled:
                os._exit(1)  # a second signal: stop waiting
            self.signalled = True
            log(f"{signal.Signals(signum).name}: stopping")
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if not self.register():
            return self.exit_code
        threading.Thread(target=self.heartbeat_loop, daemon=True).start()
        self.claim_loop()
        self.shutdown()
        return self.exit_code


def main():
    for key in ("OVERSEER_URL", "OVERSEER_AGENT_SECRET"):
        if not os.environ.get(key):
            log(f"{key} is required")
            return 2
    try:
        agent = Agent(os.environ)
    except ValueError as err:
        log(str(err))
        return 2
    try:
        return agent.run()
    except RuntimeError as err:
        log(str(err))
        return 1


if __name__ == "__main__":
    sys.exit(main())
