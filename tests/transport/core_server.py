"""A CAQH CORE (rule 270, CORERuleVersion 2.2.0) batch endpoint for the tests, on loopback, over TLS.

Written for the tests from the public rule, not a copy of any server: it accepts
SOAP 1.2 + WS-Security UsernameToken with the payload as an MTOM/XOP attachment,
and HTTP MIME ``multipart/form-data``; it checks the credentials, the required
envelope fields, CheckSum (SHA-1) and PayloadLength; it stores each payload by
PayloadID (a repeated PayloadID with the same bytes is answered Success and not
stored again); it answers FILELIST and serves the files a test puts in its
outbox; and it can be told to fail the next requests (HTTP 500, a slow answer,
a connection dropped in the middle of the upload).

Only ``Success`` and ``UnAuthorized`` are ErrorCodes named by the public sources
used here; the other codes (``<Field>Required``, ``ChecksumMismatch`` ...) are
this server's choice, and the client treats any code it does not know as "not
accepted", so the exact spelling does not matter to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.server
import socket
import ssl
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import trustme
from lxml import etree

CORE_NS = "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XOP_NS = "http://www.w3.org/2004/08/xop/include"

USERNAME = "mce-test-user"
PASSWORD = "Tst-Pw-7q!x9Zr"  # synthetic; tests grep every output for it
SENDER_ID = "TESTMCE01"
RECEIVER_ID = "MASSHEALTHTEST"
FILELIST = "FILELIST"
RETRIEVAL_TYPE = "X12_005010_Response_Retrieval_TEST"

SUBMISSION_FIELDS = (
    "PayloadType",
    "ProcessingMode",
    "PayloadID",
    "PayloadLength",
    "TimeStamp",
    "SenderID",
    "ReceiverID",
    "CORERuleVersion",
    "CheckSum",
)
RETRIEVAL_FIELDS = (
    "PayloadType",
    "ProcessingMode",
    "PayloadID",
    "TimeStamp",
    "SenderID",
    "ReceiverID",
    "CORERuleVersion",
)


@dataclass
class Received:
    """A payload the server accepted."""

    payload_id: str
    payload_type: str
    payload: bytes
    envelope: dict[str, str]
    style: str  # "soap" or "mime"


@dataclass
class Logged:
    """One request as the server saw it."""

    style: str
    action: str
    envelope: dict[str, str]
    code: str
    status: int


@dataclass
class Outgoing:
    """A file the server holds for the client (listed by FILELIST, fetched by PayloadID)."""

    payload_id: str
    name: str
    data: bytes
    payload_type: str = "X12_999_Response_005010X231A1"


@dataclass
class Fault:
    """A programmed failure for the next request: ``"500"``, ``"sleep"`` or ``"drop"``."""

    kind: str
    seconds: float = 0.0


@dataclass
class _Parsed:
    style: str
    action: str
    envelope: dict[str, str]
    username: str
    password: str
    payload: bytes | None
    has_payload: bool


class CoreServer:
    """State and programming of the test endpoint; the HTTP handler reads and updates it under a lock."""

    def __init__(self, ca_file: Path, url: str) -> None:
        self.ca_file = ca_file
        #: A CA that did not sign the server's certificate (for the "verification is on" test).
        self.other_ca_file = ca_file
        self.url = url
        self.username = USERNAME
        self.password = PASSWORD
        self.sender_id = SENDER_ID
        self.receiver_id = RECEIVER_ID
        #: How a refused login is answered: "envelope" (HTTP 200, ErrorCode UnAuthorized), "http401", "fault".
        self.auth_failure = "envelope"
        #: Retrieval answers: the payload as an MTOM attachment (default) or inline base64.
        self.inline_payload = False
        self.received: dict[str, Received] = {}
        self.store_count = 0
        self.log: list[Logged] = []
        self.outbox: list[Outgoing] = []
        self.faults: deque[Fault] = deque()
        self.forced: deque[tuple[str, str]] = deque()
        self.lock = threading.Lock()

    def fail_next(self, kind: str, count: int = 1, seconds: float = 0.0) -> None:
        """Make the next ``count`` requests fail: ``"500"``, ``"sleep"`` (answer after ``seconds``) or ``"drop"``."""
        with self.lock:
            self.faults.extend(Fault(kind, seconds) for _ in range(count))

    def answer_next(self, code: str, message: str = "") -> None:
        """Answer the next submission with ``code`` (a CORE ErrorCode) instead of checking it."""
        with self.lock:
            self.forced.append((code, message))

    def put(self, name: str, data: bytes, payload_id: str | None = None) -> str:
        """Hold ``data`` for the client under ``name``; return its PayloadID."""
        item = Outgoing(payload_id or str(uuid.uuid4()), name, data)
        with self.lock:
            self.outbox.append(item)
        return item.payload_id

    # -- request handling (called by the handler thread) -------------------------------------

    def check_submission(self, parsed: _Parsed) -> tuple[str, str]:
        """Check one submission; store it if it is good; return (ErrorCode, ErrorMessage)."""
        env = parsed.envelope
        if self.forced:
            return self.forced.popleft()
        for name in SUBMISSION_FIELDS:
            if not env.get(name):
                return f"{name}Required", f"{name} is required"
        if not parsed.has_payload or parsed.payload is None:
            return "PayloadRequired", "Payload is required"
        problem = _check_common(env, self.sender_id, self.receiver_id)
        if problem:
            return problem
        payload = parsed.payload
        if not env["PayloadLength"].isdigit() or int(env["PayloadLength"]) != len(payload):
            return "PayloadLengthMismatch", f"PayloadLength {env['PayloadLength']} but {len(payload)} bytes received"
        if hashlib.sha1(payload).hexdigest() != env["CheckSum"].lower():
            return "ChecksumMismatch", "CheckSum does not match the payload"
        previous = self.received.get(env["PayloadID"])
        if previous is not None:
            if previous.payload == payload:
                return "Success", "Duplicate PayloadID with identical payload: already received"
            return "PayloadIDIllegal", "PayloadID already used for a different payload"
        self.received[env["PayloadID"]] = Received(
            env["PayloadID"], env["PayloadType"], payload, dict(env), parsed.style
        )
        self.store_count += 1
        return "Success", "Payload received"

    def check_retrieval(self, parsed: _Parsed) -> tuple[str, str, bytes | None]:
        """Answer one retrieval request: (ErrorCode, ErrorMessage, payload)."""
        env = parsed.envelope
        for name in RETRIEVAL_FIELDS:
            if not env.get(name):
                return f"{name}Required", f"{name} is required", None
        problem = _check_common(env, self.sender_id, self.receiver_id)
        if problem:
            return (*problem, None)
        if env["PayloadType"] == FILELIST:
            return "Success", "File list", _file_list(self.outbox)
        if env["PayloadType"] != RETRIEVAL_TYPE:
            return "PayloadTypeIllegal", f"unknown PayloadType {env['PayloadType']}", None
        for item in self.outbox:
            if item.payload_id == env["PayloadID"]:
                return "Success", "Payload retrieved", item.data
        return "PayloadIDIllegal", "no such payload", None


def _check_common(env: dict[str, str], sender_id: str, receiver_id: str) -> tuple[str, str] | None:
    if env["ProcessingMode"] != "Batch":
        return "ProcessingModeIllegal", "ProcessingMode must be Batch"
    if env["CORERuleVersion"] != "2.2.0":
        return "VersionMismatch", "CORERuleVersion 2.2.0 expected"
    if env["SenderID"] != sender_id:
        return "SenderIDIllegal", "unknown SenderID"
    if env["ReceiverID"] != receiver_id:
        return "ReceiverIDIllegal", "unknown ReceiverID"
    try:
        moment = dt.datetime.fromisoformat(env["TimeStamp"].replace("Z", "+00:00"))
    except ValueError:
        return "TimeStampIllegal", "TimeStamp is not ISO 8601"
    if moment.tzinfo is None:
        return "TimeStampIllegal", "TimeStamp has no time zone"
    try:
        uuid.UUID(env["PayloadID"])
    except ValueError:
        if env["PayloadType"] != FILELIST:
            return "PayloadIDIllegal", "PayloadID is not a UUID"
    return None


def _file_list(outbox: list[Outgoing]) -> bytes:
    root = etree.Element("FileList")
    for item in outbox:
        node = etree.SubElement(root, "File")
        for name, value in (
            ("PayloadID", item.payload_id),
            ("PayloadType", item.payload_type),
            ("FileName", item.name),
            ("FileSize", str(len(item.data))),
            ("CreateTime", "2026-11-30T08:00:00Z"),
        ):
            etree.SubElement(node, name).text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _parse_mime(content_type: str, body: bytes) -> Message:
    return BytesParser().parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)


def _bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _parts(message: Message) -> list[Message]:
    payload = message.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _action(content_type: str, root_type: str, soap_action: str) -> str:
    for header in (content_type, root_type):
        msg = Message()
        msg["Content-Type"] = header
        value = msg.get_param("action")
        if isinstance(value, str) and value:
            return value
    return soap_action.strip('"')


def parse_request(content_type: str, body: bytes, soap_action: str) -> _Parsed:
    """Parse a SOAP (plain or MTOM) or HTTP MIME request into envelope fields, credentials and payload."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        message = _parse_mime(content_type, body)
        fields: dict[str, bytes] = {}
        for part in _parts(message):
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                fields[name] = _bytes(part)
        text = {k: v.decode("utf-8") for k, v in fields.items() if k != "Payload"}
        username, password = text.pop("UserName", ""), text.pop("Password", "")
        has_payload = "Payload" in fields
        action = "BatchSubmitTransaction" if has_payload else "GenericBatchRetrievalTransaction"
        return _Parsed("mime", action, text, username, password, fields.get("Payload"), has_payload)
    attachments: dict[str, bytes] = {}
    root_type = ""
    if kind == "multipart/related":
        message = _parse_mime(content_type, body)
        parts = _parts(message)
        start = str(message.get_param("start") or "").strip("<>")
        root = next((p for p in parts if str(p.get("Content-ID", "")).strip("<>") == start), parts[0])
        root_type = str(root.get("Content-Type", ""))
        for part in parts:
            if part is not root:
                attachments[str(part.get("Content-ID", "")).strip().strip("<>")] = _bytes(part)
        document = _bytes(root)
    elif kind in ("application/soap+xml", "text/xml", "application/xml"):
        document = body
    else:
        raise ValueError(f"unsupported Content-Type {kind}")
    tree = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    token = tree.find(f".//{{{WSSE_NS}}}UsernameToken")
    username = password = ""
    if token is not None:
        username = (token.findtext(f"{{{WSSE_NS}}}Username") or "").strip()
        password = token.findtext(f"{{{WSSE_NS}}}Password") or ""
    core = tree.find(f"{{{SOAP_NS}}}Body")[0]
    envelope = {
        etree.QName(child).localname: (child.text or "").strip()
        for child in core
        if isinstance(child.tag, str) and child.tag != "Payload"
    }
    payload_element = core.find("Payload")
    payload: bytes | None = None
    if payload_element is not None:
        include = payload_element.find(f"{{{XOP_NS}}}Include")
        if include is not None:
            payload = attachments.get(include.get("href", "").removeprefix("cid:"))
        else:
            payload = base64.b64decode("".join((payload_element.text or "").split()))
    return _Parsed(
        "soap",
        _action(content_type, root_type, soap_action),
        envelope,
        username,
        password,
        payload,
        payload is not None,
    )


def soap_answer(
    element: str, env: dict[str, str], code: str, message: str, payload: bytes | None, inline: bool
) -> tuple[str, bytes]:
    """Build a SOAP answer: (Content-Type, body); a payload travels as an MTOM attachment unless ``inline``."""
    root = etree.Element(etree.QName(SOAP_NS, "Envelope"), nsmap={"soap": SOAP_NS, "cor": CORE_NS})
    etree.SubElement(root, etree.QName(SOAP_NS, "Header"))
    body = etree.SubElement(root, etree.QName(SOAP_NS, "Body"))
    core = etree.SubElement(body, etree.QName(CORE_NS, element))
    for name in ("PayloadType", "ProcessingMode", "PayloadID"):
        etree.SubElement(core, name).text = env.get(name, "")
    etree.SubElement(core, "TimeStamp").text = "2026-12-01T00:00:00Z"
    etree.SubElement(core, "SenderID").text = env.get("ReceiverID", "")
    etree.SubElement(core, "ReceiverID").text = env.get("SenderID", "")
    etree.SubElement(core, "CORERuleVersion").text = "2.2.0"
    cid = f"answer-{uuid.uuid4()}@core-test"
    if payload is not None:
        element_payload = etree.SubElement(core, "Payload")
        if inline:
            element_payload.text = base64.b64encode(payload).decode("ascii")
        else:
            etree.SubElement(element_payload, etree.QName(XOP_NS, "Include"), nsmap={"xop": XOP_NS}, href=f"cid:{cid}")
    etree.SubElement(core, "ErrorCode").text = code
    etree.SubElement(core, "ErrorMessage").text = message
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if payload is None or inline:
        return "application/soap+xml; charset=UTF-8", xml
    boundary = f"uuid:{uuid.uuid4()}"
    framed = b"".join(
        [
            f'--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
            f"Content-ID: <root@core-test>\r\n\r\n".encode(),
            xml,
            f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{cid}>\r\n\r\n".encode(),
            payload,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; start="<root@core-test>"; '
        'start-info="application/soap+xml"'
    )
    return content_type, framed


def soap_fault(code: str, reason: str) -> tuple[str, bytes]:
    """Build a SOAP 1.2 fault with a Sender code and ``code`` as its subcode."""
    root = etree.Element(etree.QName(SOAP_NS, "Envelope"), nsmap={"soap": SOAP_NS, "wsse": WSSE_NS})
    fault = etree.SubElement(etree.SubElement(root, etree.QName(SOAP_NS, "Body")), etree.QName(SOAP_NS, "Fault"))
    code_element = etree.SubElement(fault, etree.QName(SOAP_NS, "Code"))
    etree.SubElement(code_element, etree.QName(SOAP_NS, "Value")).text = "soap:Sender"
    sub = etree.SubElement(code_element, etree.QName(SOAP_NS, "Subcode"))
    etree.SubElement(sub, etree.QName(SOAP_NS, "Value")).text = code
    text = etree.SubElement(etree.SubElement(fault, etree.QName(SOAP_NS, "Reason")), etree.QName(SOAP_NS, "Text"))
    text.text = reason
    return "application/soap+xml; charset=UTF-8", etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def mime_answer(env: dict[str, str], code: str, message: str, payload: bytes | None) -> tuple[str, bytes]:
    """Build an HTTP MIME answer (multipart/form-data fields, the payload as the ``Payload`` part)."""
    boundary = f"core-test-{uuid.uuid4().hex}"
    fields = [
        ("PayloadType", env.get("PayloadType", "")),
        ("ProcessingMode", "Batch"),
        ("PayloadID", env.get("PayloadID", "")),
        ("TimeStamp", "2026-12-01T00:00:00Z"),
        ("SenderID", env.get("ReceiverID", "")),
        ("ReceiverID", env.get("SenderID", "")),
        ("CORERuleVersion", "2.2.0"),
        ("ErrorCode", code),
        ("ErrorMessage", message),
    ]
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    if payload is not None:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="Payload"; filename="payload"\r\n'
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".encode()
            + payload
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return f'multipart/form-data; boundary="{boundary}"', b"".join(chunks)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not access logs
        pass

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True  # the client gave up (a timeout test): nothing to answer

    def _drop(self) -> None:
        # SO_LINGER 0: close with a reset, as a failing network or load balancer would.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()
        self.close_connection = True

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0") or "0")
        with state.lock:
            fault = state.faults.popleft() if state.faults else None
        if fault is not None and fault.kind == "drop":
            self.rfile.read(max(1, length // 3))  # part of the upload, then the connection goes away
            self._drop()
            return
        body = self.rfile.read(length)
        if fault is not None and fault.kind == "500":
            self._reply(500, "text/plain", b"internal error (programmed)")
            return
        content_type = self.headers.get("Content-Type", "")
        try:
            parsed = parse_request(content_type, body, self.headers.get("SOAPAction", ""))
        except Exception as exc:  # a malformed request is the client's bug: make the test see it
            self._reply(400, "text/plain", f"unparseable request: {type(exc).__name__}".encode())
            return
        with state.lock:
            status, answer_type, answer = self._answer(state, parsed)
        if fault is not None and fault.kind == "sleep":
            time.sleep(fault.seconds)  # processed, but answered too late: the client must retry the same PayloadID
        self._reply(status, answer_type, answer)

    def _answer(self, state: CoreServer, parsed: _Parsed) -> tuple[int, str, bytes]:
        env = parsed.envelope
        submission = parsed.action == "BatchSubmitTransaction"
        element = "COREEnvelopeBatchSubmissionResponse" if submission else "COREEnvelopeBatchResultsRetrievalResponse"
        if parsed.username != state.username or parsed.password != state.password:
            state.log.append(Logged(parsed.style, parsed.action, env, "UnAuthorized", 200))
            if state.auth_failure == "http401":
                return 401, "text/plain", b"unauthorized"
            if state.auth_failure == "fault" and parsed.style == "soap":
                return 500, *soap_fault("wsse:FailedAuthentication", "The security token could not be authenticated")
            if parsed.style == "mime":
                return 200, *mime_answer(env, "UnAuthorized", "Sender is not authorized", None)
            return 200, *soap_answer(element, env, "UnAuthorized", "Sender is not authorized", None, False)
        payload: bytes | None = None
        if submission:
            code, message = state.check_submission(parsed)
        elif parsed.action == "GenericBatchRetrievalTransaction":
            code, message, payload = state.check_retrieval(parsed)
        else:
            return 400, "text/plain", f"unknown action {parsed.action!r}".encode()
        state.log.append(Logged(parsed.style, parsed.action, env, code, 200))
        if parsed.style == "mime":
            return 200, *mime_answer(env, code, message, payload)
        return 200, *soap_answer(element, env, code, message, payload, state.inline_payload)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a sleeping handler must not hold up the test's teardown

    def __init__(self, state: CoreServer | None, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.state: CoreServer = state  # type: ignore[assignment]  # set right after binding

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the handler's thread, so a client that never completes it blocks nobody.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that does not trust our CA: its side reports the failure
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # dropped and timed-out connections are expected here


@pytest.fixture
def core_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreServer]:
    """A CORE endpoint on https://127.0.0.1:<port>/core; its CA in ``ca_file``, an unrelated CA in ``other_ca_file``."""
    directory = tmp_path_factory.mktemp("core-server")
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    other_ca_file = directory / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca_file))
    server = _HTTPServer(None, context)
    state = CoreServer(ca_file, f"https://127.0.0.1:{server.server_address[1]}/core")
    state.other_ca_file = other_ca_file
    server.state = state
    thread = threading.Thread(target=server.serve_forever, name="core-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
