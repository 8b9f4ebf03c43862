"""CAQH CORE Phase II connectivity (CORE rule 270, CORERuleVersion 2.2.0): SOAP+MTOM and HTTP MIME multipart.

Both transports send the same CORE envelope fields; they differ only in how
the fields travel:

* :class:`CoreSoapTransport`: a SOAP 1.2 envelope (built with lxml) whose header
  carries a WS-Security UsernameToken (PasswordText) and whose body holds
  ``COREEnvelopeBatchSubmission``; the X12 file is an MTOM/XOP attachment of a
  ``multipart/related`` request (SOAPAction ``BatchSubmitTransaction``).
  Results are listed with ``GenericBatchRetrievalTransaction`` and PayloadType
  ``FILELIST``, then fetched one by one by PayloadID.
* :class:`CoreMimeTransport`: the same fields as the parts of a
  ``multipart/form-data`` request, the credentials as the ``UserName`` and
  ``Password`` parts and the file as the ``Payload`` part.

The payload types for MassHealth's encounter (PACDR) files are not public, so
they come from the profile (``[transport.payload_types]``), never from code.

Memory: an 837 can be 100 MB, so a file is read from disk twice and never held
whole: once to compute its SHA-1 CheckSum and PayloadLength (which precede the
payload in the envelope), once in chunks while it is uploaded. The upload pass
hashes again and refuses to finish if the file changed in between. Responses
(FILELIST, 999, 277CA, TA1, NCPDP responses) are small and held in memory.
"""

from __future__ import annotations

import abc
import base64
import binascii
import datetime as dt
import email.policy
import hashlib
import logging
import re
import secrets
import ssl
import uuid as uuid_module
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

import requests
from lxml import etree

from sendpro.errors import ProfileError
from sendpro.tempfiles import atomic_binary_writer
from sendpro.transport.base import (
    AuthenticationError,
    Credentials,
    SendResult,
    TransportConfig,
    TransportError,
    Waiting,
    safe_file_name,
)

log = logging.getLogger(__name__)

#: Namespaces of CORE rule 270 v2.2.0 (its XSD), SOAP 1.2, WS-Security 1.0 and XOP.
CORE_NS = "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
XOP_NS = "http://www.w3.org/2004/08/xop/include"

CORE_RULE_VERSION = "2.2.0"
PROCESSING_MODE = "Batch"
SUCCESS = "Success"
#: The PayloadType that asks a CORE server for the list of files it holds for us.
FILELIST = "FILELIST"

SUBMIT_ACTION = "BatchSubmitTransaction"
RETRIEVE_ACTION = "GenericBatchRetrievalTransaction"
SUBMISSION_ELEMENT = "COREEnvelopeBatchSubmission"
RETRIEVAL_ELEMENT = "COREEnvelopeBatchResultsRetrievalRequest"

_CHUNK = 1 << 20
#: ErrorCodes (and SOAP fault codes) that mean "these credentials are refused", compared case-insensitively.
_AUTH_CODE = re.compile(r"unauthori[sz]ed|authenticat|failedauthentication|invalidsecuritytoken|notauthori", re.I)


@dataclass(frozen=True)
class _Envelope:
    """The CORE envelope metadata of one request, in the order rule 270's XSD lists them."""

    payload_type: str
    payload_id: str
    timestamp: str
    sender_id: str
    receiver_id: str
    #: Submissions only: PayloadLength (bytes) and CheckSum (SHA-1, hex) of the payload.
    payload_length: int | None = None
    checksum: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """Return the fields as (element name, text) pairs, in envelope order."""
        pairs = [
            ("PayloadType", self.payload_type),
            ("ProcessingMode", PROCESSING_MODE),
            ("PayloadID", self.payload_id),
        ]
        if self.payload_length is not None:
            pairs.append(("PayloadLength", str(self.payload_length)))
        pairs += [
            ("TimeStamp", self.timestamp),
            ("SenderID", self.sender_id),
            ("ReceiverID", self.receiver_id),
            ("CORERuleVersion", CORE_RULE_VERSION),
        ]
        if self.checksum is not None:
            pairs.append(("CheckSum", self.checksum))
        return pairs


@dataclass(frozen=True)
class _Request:
    """One HTTP request body and its headers."""

    body: bytes | _StreamedBody
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Answer:
    """A CORE envelope as the server answered it: ErrorCode, ErrorMessage and the payload, if any."""

    code: str
    message: str = ""
    payload_id: str = ""
    payload: bytes | None = None
    #: A SOAP fault (no CORE envelope): ``code`` holds the fault code, ``message`` its reason.
    fault: bool = False


class _PayloadChanged(Exception):
    """The file being uploaded no longer matches the PayloadLength/CheckSum already in the envelope."""


class _StreamedBody:
    """A request body of ``head`` + the file in chunks + ``tail``, with a known length.

    requests sends an iterable with ``__len__`` as a Content-Length body without
    reading it into memory first; the length matters because a CORE server may
    refuse chunked uploads.
    """

    def __init__(self, head: bytes, path: Path, size: int, checksum: str, tail: bytes) -> None:
        self._head, self._path, self._size, self._checksum, self._tail = head, path, size, checksum, tail

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        digest, seen = hashlib.sha1(usedforsecurity=False), 0
        with self._path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                seen += len(chunk)
                if seen > self._size:
                    raise _PayloadChanged
                digest.update(chunk)
                yield chunk
        # Checked before the closing boundary so the server never sees a complete request for a changed file.
        if seen != self._size or digest.hexdigest() != self._checksum:
            raise _PayloadChanged
        yield self._tail


def _file_digest(path: Path) -> tuple[int, str]:
    """Return the size in bytes and the SHA-1 hex digest of ``path``, read in chunks."""
    digest, size = hashlib.sha1(usedforsecurity=False), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def _timestamp(moment: dt.datetime) -> str:
    """Format ``moment`` as the envelope's ISO 8601 UTC TimeStamp (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _default_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _default_uuid() -> str:
    return str(uuid_module.uuid4())


def _write_atomically(dest: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``dest/name``: complete or absent (:func:`sendpro.tempfiles.atomic_binary_writer`)."""
    target = dest / name
    with atomic_binary_writer(target) as handle:
        handle.write(data)
    return target


def _container(subtype: str, params: Mapping[str, str]) -> MIMEMultipart:
    """Build an empty ``multipart/<subtype>`` with a random boundary and the given Content-Type parameters."""
    container = MIMEMultipart(subtype, boundary=f"MIMEBoundary_{secrets.token_hex(16)}")
    del container["MIME-Version"]
    for key, value in params.items():
        container.set_param(key, value)
    return container


def _serialise_multipart(container: MIMEMultipart) -> tuple[str, bytes]:
    """Return the Content-Type header and the body of ``container``, CRLF line ends, no folding."""
    raw = container.as_bytes(policy=email.policy.HTTP)
    # The generator writes the container's own headers first; HTTP carries them as request headers instead.
    _, _, body = raw.partition(b"\r\n\r\n")
    return str(container["Content-Type"]), body


def _part(
    maintype: str, subtype: str, payload: bytes, headers: Mapping[str, str], params: Mapping[str, str] | None = None
) -> MIMENonMultipart:
    """Build one MIME part whose payload is written as raw bytes (no transfer encoding)."""
    part = MIMENonMultipart(maintype, subtype)
    del part["MIME-Version"]
    for key, value in (params or {}).items():
        part.set_param(key, value)
    for key, value in headers.items():
        part[key] = value
    # Bytes smuggled as surrogate escapes are what the email generator writes back out unchanged (UTF-8 included).
    part.set_payload(payload.decode("ascii", "surrogateescape"))
    return part


def _subparts(message: Message) -> list[Message]:
    """Return the parts of a parsed multipart message (none if it is not multipart)."""
    payload = message.get_payload() if message.is_multipart() else []
    return [part for part in payload if isinstance(part, Message)] if isinstance(payload, list) else []


def _parse_multipart(content_type: str, body: bytes) -> Message:
    """Parse an HTTP multipart body with the stdlib MIME parser (the Content-Type comes from the HTTP header)."""
    return BytesParser().parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)


def _part_bytes(part: Message) -> bytes:
    """Return the decoded bytes of one MIME part."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _xml_parser() -> etree.XMLParser:
    # Server XML is untrusted: no entity expansion, no network access, no huge trees.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _children(element: etree._Element) -> dict[str, etree._Element]:
    """Map the local names of ``element``'s child elements to the first child of each name."""
    found: dict[str, etree._Element] = {}
    for child in element:
        if isinstance(child.tag, str):
            found.setdefault(_local(child), child)
    return found


def _text(element: etree._Element | None) -> str:
    return "" if element is None else (element.text or "").strip()


def parse_file_list(document: bytes) -> list[Waiting]:
    """Parse a CORE ``FILELIST`` payload (``<FileList><File>...</File></FileList>``) into :class:`Waiting` items.

    Each ``File`` carries a ``PayloadID`` (required: files are fetched by it).
    The name, size and time elements are not fixed by the rule; the usual
    spellings are accepted, and a file without a name is named by its PayloadID.

    Raises:
        TransportError: the payload is not a file list (not retryable: the server answered).
    """
    try:
        root = etree.fromstring(document, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise TransportError(f"the FILELIST answer is not XML: {exc.msg}", retryable=False) from None
    items: list[Waiting] = []
    seen: set[str] = set()
    for node in root.iter():
        if not isinstance(node.tag, str) or _local(node) != "File":
            continue
        fields = _children(node)
        payload_id = _text(fields.get("PayloadID"))
        if not payload_id or payload_id in seen:
            continue  # a list may repeat an entry; fetching it once is enough
        seen.add(payload_id)
        name = _text(fields.get("FileName")) or _text(fields.get("Name")) or payload_id
        size_text = _text(fields.get("FileSize")) or _text(fields.get("PayloadLength"))
        created_text = _text(fields.get("CreateTime")) or _text(fields.get("TimeStamp"))
        items.append(
            Waiting(
                name=name,
                payload_id=payload_id,
                size=int(size_text) if size_text.isdigit() else None,
                created=_parse_time(created_text),
            )
        )
    return items


def _parse_time(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class _CoreTransport(abc.ABC):
    """What both CORE transports share: the envelope, the HTTP session, error mapping, FILELIST and fetch."""

    kind = ""

    def __init__(
        self,
        config: TransportConfig,
        *,
        now: Callable[[], dt.datetime] = _default_now,
        uuid: Callable[[], str] = _default_uuid,
    ) -> None:
        """Prepare a transport for ``config``; nothing is sent until the first request after :meth:`open`.

        Args:
            config: the profile's ``[transport]`` table.
            now: the clock for the envelope's TimeStamp.
            uuid: the source of PayloadIDs for FILELIST and retrieval requests (a send gets its PayloadID passed in).

        Raises:
            ProfileError: the endpoint is missing or not https.
        """
        parts = urlsplit(config.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ProfileError(f"transport.url must be an https:// URL for {self.kind}, not {config.url!r}")
        self._config = config
        self._host = parts.hostname
        self._now = now
        self._uuid = uuid
        self._session: requests.Session | None = None
        self._credentials: Credentials | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._config.url!r}, username={self._config.username!r})"

    # -- the Transport protocol ------------------------------------------------------------------

    def open(self, credentials: Credentials) -> None:
        """Start the session; CORE checks credentials on every request, so nothing is sent yet."""
        self.close()
        self._credentials = credentials
        session = requests.Session()
        session.headers["User-Agent"] = "sendpro"
        self._session = session

    def close(self) -> None:
        """End the session (idempotent); the credentials are forgotten."""
        if self._session is not None:
            self._session.close()
        self._session = None
        self._credentials = None

    def send(self, path: Path, kind: str, payload_id: str) -> SendResult:
        """Send ``path`` as one batch submission under ``payload_id`` and return the server's ErrorCode.

        Raises:
            ProfileError: the profile has no PayloadType for ``kind``.
            AuthenticationError: the server refused the credentials.
            TransportError: no proper answer (timeout, dropped connection, 5xx: retryable), or the file
                changed while it was sent (not retryable).
        """
        payload_type = self._config.payload_types.get(kind, "")
        if not payload_type:
            raise ProfileError(f"transport.payload_types.{kind} is not set: the PayloadType for {kind} files")
        size, checksum = _file_digest(path)
        envelope = _Envelope(
            payload_type=payload_type,
            payload_id=payload_id,
            timestamp=_timestamp(self._now()),
            sender_id=self._config.sender_id,
            receiver_id=self._config.receiver_id,
            payload_length=size,
            checksum=checksum,
        )
        try:
            answer = self._exchange(self._submission(envelope, path), f"sending {path.name}")
        except _PayloadChanged:
            raise TransportError(f"{path.name} changed while it was being sent; nothing was completed", False) from None
        if answer.fault:
            raise TransportError(f"the server faulted on {path.name}: {answer.code} {answer.message}".strip(), False)
        log.info("sent %s as PayloadID %s: %s", path.name, payload_id, answer.code)
        return SendResult(payload_id=payload_id, code=answer.code, message=answer.message)

    def waiting(self) -> list[Waiting]:
        """List the files the server holds for us (a FILELIST retrieval request).

        Raises:
            AuthenticationError: the server refused the credentials.
            TransportError: no proper answer (retryable), or the server refused the request (not retryable).
        """
        answer = self._retrieve(FILELIST, "listing waiting files")
        return parse_file_list(answer.payload or b"")

    def fetch(self, item: Waiting, dest: Path) -> Path:
        """Download ``item`` by its PayloadID into ``dest`` under a sanitised name, atomically.

        Raises:
            ProfileError: the profile has no ``retrieval_payload_type``.
            AuthenticationError: the server refused the credentials.
            TransportError: no proper answer (retryable), or the server refused the request (not retryable).
        """
        if not item.payload_id:
            raise TransportError(f"{item.name} has no PayloadID; a CORE server fetches files by PayloadID", False)
        payload_type = self._config.retrieval_payload_type
        if not payload_type:
            raise ProfileError("transport.retrieval_payload_type is not set: the PayloadType to retrieve a response")
        answer = self._retrieve(payload_type, f"fetching {item.name}", payload_id=item.payload_id)
        if answer.payload is None:
            raise TransportError(f"the server answered {answer.code} for {item.name} but sent no payload", False)
        path = _write_atomically(dest, safe_file_name(item.name, item.payload_id), answer.payload)
        log.info("fetched PayloadID %s as %s", item.payload_id, path.name)
        return path

    # -- shared machinery -----------------------------------------------------------------------

    def _retrieve(self, payload_type: str, what: str, payload_id: str | None = None) -> _Answer:
        envelope = _Envelope(
            payload_type=payload_type,
            payload_id=payload_id or self._uuid(),
            timestamp=_timestamp(self._now()),
            sender_id=self._config.sender_id,
            receiver_id=self._config.receiver_id,
        )
        answer = self._exchange(self._retrieval(envelope), what)
        if answer.fault or answer.code != SUCCESS:
            raise TransportError(f"the server refused {what}: {answer.code} {answer.message}".strip(), False)
        return answer

    def _require_open(self) -> Credentials:
        if self._session is None or self._credentials is None:
            raise TransportError(f"the {self.kind} transport is not open", retryable=False)
        return self._credentials

    def _exchange(self, request: _Request, what: str) -> _Answer:
        """POST ``request`` and return the CORE envelope of the answer, mapping every failure to an exception.

        Exceptions are raised ``from None``: a chained requests exception could
        carry request details into a traceback, and the body holds the secret.
        """
        credentials = self._require_open()
        assert self._session is not None  # checked by _require_open()
        try:
            response = self._session.post(
                self._config.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=self._config.timeout,
                # Verification is always on: a private CA bundle may replace the system store, nothing turns it off.
                # Passed per request because requests lets REQUESTS_CA_BUNDLE override a Session's own ``verify``.
                verify=self._config.ca_file or True,
            )
        except requests.exceptions.SSLError as exc:
            if _certificate_refused(exc):
                raise TransportError(
                    f"TLS verification of {self._host} failed while {what} (check transport.ca_file)", retryable=False
                ) from None
            # Any other TLS error is the connection breaking (e.g. closed in the middle of the upload).
            raise TransportError(f"the connection to {self._host} failed or was dropped while {what}") from None
        except requests.exceptions.Timeout:
            raise TransportError(
                f"{self._host} did not answer within {self._config.timeout:g} s while {what}"
            ) from None
        except requests.exceptions.ConnectionError:
            raise TransportError(f"the connection to {self._host} failed or was dropped while {what}") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"the request to {self._host} failed while {what} ({type(exc).__name__})") from None
        status = response.status_code
        if status in (401, 403):
            raise AuthenticationError(
                f"{self._host} refused the credentials of {credentials.username!r} (HTTP {status})"
            )
        answer = self._parse(response)
        if answer is not None:
            answer = _Answer(
                code=_redact(answer.code, credentials.secret),
                message=_redact(answer.message, credentials.secret),
                payload_id=answer.payload_id,
                payload=answer.payload,
                fault=answer.fault,
            )
            if _AUTH_CODE.search(answer.code):
                raise AuthenticationError(
                    f"{self._host} refused the credentials of {credentials.username!r}: {answer.code} {answer.message}"
                )
        if status >= 500:
            raise TransportError(f"{self._host} answered HTTP {status} while {what}")
        if answer is None:
            # 408 and 429 say "later"; any other answer without an envelope will not improve by retrying.
            retryable = status in (408, 429)
            raise TransportError(f"{self._host} answered HTTP {status} without a CORE envelope while {what}", retryable)
        return answer

    @abc.abstractmethod
    def _submission(self, envelope: _Envelope, path: Path) -> _Request:
        """Build the BatchSubmitTransaction request for ``path``."""

    @abc.abstractmethod
    def _retrieval(self, envelope: _Envelope) -> _Request:
        """Build a GenericBatchRetrievalTransaction request (FILELIST or one file)."""

    @abc.abstractmethod
    def _parse(self, response: requests.Response) -> _Answer | None:
        """Read the CORE envelope (or SOAP fault) of ``response``; None when it holds neither."""


def _certificate_refused(exc: BaseException) -> bool:
    """Return True when ``exc`` comes from a refused server certificate rather than a broken connection."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        # requests wraps urllib3's MaxRetryError (``reason``), which wraps the ssl error, in ``args`` and chains.
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None), *current.args])
    return False


def _redact(text: str, secret: str) -> str:
    """Remove the secret from text the server wrote (a server that echoes the request must not leak it)."""
    return text.replace(secret, "***") if secret else text


class CoreSoapTransport(_CoreTransport):
    """CORE SOAP 1.2 + WS-Security UsernameToken, the X12 file as an MTOM/XOP attachment.

    The multipart framing is built with the stdlib ``email`` MIME classes
    (headers, parameter quoting and boundaries are theirs, not hand-written),
    with a random marker in place of the attachment: the serialised message is
    split at the marker and the file is streamed between the two halves, so
    the 837 never has to be in memory.
    """

    kind = "core-soap"

    def _soap(self, body_element: str, envelope: _Envelope, with_payload_cid: str | None) -> bytes:
        credentials = self._require_open()
        nsmap = {"soapenv": SOAP_NS, "cor": CORE_NS}
        root = etree.Element(etree.QName(SOAP_NS, "Envelope"), nsmap=nsmap)
        header = etree.SubElement(root, etree.QName(SOAP_NS, "Header"))
        security = etree.SubElement(header, etree.QName(WSSE_NS, "Security"), nsmap={"wsse": WSSE_NS, "wsu": WSU_NS})
        security.set(etree.QName(SOAP_NS, "mustUnderstand"), "true")
        token = etree.SubElement(security, etree.QName(WSSE_NS, "UsernameToken"))
        etree.SubElement(token, etree.QName(WSSE_NS, "Username")).text = credentials.username
        password = etree.SubElement(token, etree.QName(WSSE_NS, "Password"), Type=PASSWORD_TEXT)
        password.text = credentials.secret
        body = etree.SubElement(root, etree.QName(SOAP_NS, "Body"))
        core = etree.SubElement(body, etree.QName(CORE_NS, body_element))
        # CORE's XSD declares its child elements unqualified (elementFormDefault is not "qualified").
        for name, value in envelope.items():
            etree.SubElement(core, name).text = value
        if with_payload_cid is not None:
            payload = etree.SubElement(core, "Payload")
            etree.SubElement(
                payload, etree.QName(XOP_NS, "Include"), nsmap={"xop": XOP_NS}, href=f"cid:{with_payload_cid}"
            )
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _submission(self, envelope: _Envelope, path: Path) -> _Request:
        assert envelope.payload_length is not None and envelope.checksum is not None
        root_id = f"root.{envelope.payload_id}@sendpro"
        payload_id = f"payload.{envelope.payload_id}@sendpro"
        marker = f"sendpro-payload-{secrets.token_hex(16)}"
        container = _container(
            "related",
            {
                "type": "application/xop+xml",
                "start": f"<{root_id}>",
                "start-info": "application/soap+xml",
                "action": SUBMIT_ACTION,
            },
        )
        soap = self._soap(SUBMISSION_ELEMENT, envelope, payload_id)
        container.attach(
            _part(
                "application",
                "xop+xml",
                soap,
                {"Content-Transfer-Encoding": "8bit", "Content-ID": f"<{root_id}>"},
                {"charset": "UTF-8", "type": "application/soap+xml", "action": SUBMIT_ACTION},
            )
        )
        container.attach(
            _part(
                "application",
                "octet-stream",
                marker.encode("ascii"),
                {"Content-Transfer-Encoding": "binary", "Content-ID": f"<{payload_id}>"},
            )
        )
        content_type, framed = _serialise_multipart(container)
        head, found, tail = framed.partition(marker.encode("ascii"))
        assert found, "the payload marker must survive serialisation"
        body = _StreamedBody(head, path, envelope.payload_length, envelope.checksum, tail)
        return _Request(body, {"Content-Type": content_type, "SOAPAction": SUBMIT_ACTION, "MIME-Version": "1.0"})

    def _retrieval(self, envelope: _Envelope) -> _Request:
        soap = self._soap(RETRIEVAL_ELEMENT, envelope, None)
        content_type = f'application/soap+xml; charset=UTF-8; action="{RETRIEVE_ACTION}"'
        return _Request(soap, {"Content-Type": content_type, "SOAPAction": RETRIEVE_ACTION})

    def _parse(self, response: requests.Response) -> _Answer | None:
        content_type = response.headers.get("Content-Type", "")
        attachments: dict[str, bytes] = {}
        if content_type.lower().startswith("multipart/"):
            message = _parse_multipart(content_type, response.content)
            parts = _subparts(message)
            if not parts:
                return None
            start = str(message.get_param("start") or "").strip("<>")
            root_part = next((p for p in parts if str(p.get("Content-ID", "")).strip("<>") == start), parts[0])
            for part in parts:
                if part is not root_part:
                    attachments[str(part.get("Content-ID", "")).strip().strip("<>")] = _part_bytes(part)
            document = _part_bytes(root_part)
        else:
            document = response.content
        try:
            root = etree.fromstring(document, _xml_parser())
        except etree.XMLSyntaxError:
            return None
        body = root.find(f"{{{SOAP_NS}}}Body")
        if body is None or len(body) == 0:
            return None
        core = body[0]
        if etree.QName(core).namespace == SOAP_NS and _local(core) == "Fault":
            return _fault(core)
        fields = _children(core)
        if "ErrorCode" not in fields:
            return None
        return _Answer(
            code=_text(fields["ErrorCode"]),
            message=_text(fields.get("ErrorMessage")),
            payload_id=_text(fields.get("PayloadID")),
            payload=_soap_payload(fields.get("Payload"), attachments),
        )


def _fault(fault: etree._Element) -> _Answer:
    """Read a SOAP 1.2 fault: its most specific code (e.g. ``wsse:FailedAuthentication``) and reason."""
    codes = [_text(value) for value in fault.iter(f"{{{SOAP_NS}}}Value")]
    reason = " ".join(_text(text) for text in fault.iter(f"{{{SOAP_NS}}}Text"))
    return _Answer(code=codes[-1] if codes else "Fault", message=reason, fault=True)


def _soap_payload(payload: etree._Element | None, attachments: Mapping[str, bytes]) -> bytes | None:
    """Return the Payload element's bytes: an XOP reference to an attachment, or inline base64."""
    if payload is None:
        return None
    include = payload.find(f"{{{XOP_NS}}}Include")
    if include is not None:
        href = str(include.get("href", ""))
        return attachments.get(href.removeprefix("cid:"))
    try:
        return base64.b64decode("".join((payload.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None


class CoreMimeTransport(_CoreTransport):
    """CORE HTTP MIME multipart: the envelope fields, the credentials and the file as ``multipart/form-data`` parts.

    requests' ``files=`` would read the whole file into memory and copy it into
    the body; the framing is built with the stdlib ``email`` MIME classes
    instead and the file streamed into it, as for SOAP.
    """

    kind = "core-mime"

    def _form(self, envelope: _Envelope) -> MIMEMultipart:
        credentials = self._require_open()
        fields = [*envelope.items(), ("UserName", credentials.username), ("Password", credentials.secret)]
        container = _container("form-data", {})
        for name, value in fields:
            part = _part(
                "text", "plain", value.encode("utf-8"), {"Content-Transfer-Encoding": "8bit"}, {"charset": "UTF-8"}
            )
            part.add_header("Content-Disposition", "form-data", name=name)
            container.attach(part)
        return container

    def _submission(self, envelope: _Envelope, path: Path) -> _Request:
        assert envelope.payload_length is not None and envelope.checksum is not None
        marker = f"sendpro-payload-{secrets.token_hex(16)}"
        container = self._form(envelope)
        payload = _part("application", "octet-stream", marker.encode("ascii"), {"Content-Transfer-Encoding": "binary"})
        payload.add_header("Content-Disposition", "form-data", name="Payload", filename=safe_file_name(path.name))
        container.attach(payload)
        content_type, framed = _serialise_multipart(container)
        head, found, tail = framed.partition(marker.encode("ascii"))
        assert found, "the payload marker must survive serialisation"
        return _Request(
            _StreamedBody(head, path, envelope.payload_length, envelope.checksum, tail), {"Content-Type": content_type}
        )

    def _retrieval(self, envelope: _Envelope) -> _Request:
        content_type, body = _serialise_multipart(self._form(envelope))
        return _Request(body, {"Content-Type": content_type})

    def _parse(self, response: requests.Response) -> _Answer | None:
        content_type = response.headers.get("Content-Type", "")
        if not content_type.lower().startswith("multipart/"):
            return None
        message = _parse_multipart(content_type, response.content)
        parts = _subparts(message)
        fields: dict[str, bytes] = {}
        for part in parts:
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                fields.setdefault(name, _part_bytes(part))
        if "ErrorCode" not in fields:
            return None
        return _Answer(
            code=fields["ErrorCode"].decode("utf-8", "replace").strip(),
            message=fields.get("ErrorMessage", b"").decode("utf-8", "replace").strip(),
            payload_id=fields.get("PayloadID", b"").decode("utf-8", "replace").strip(),
            payload=fields.get("Payload"),
        )
