"""A small fake Stripe API on a loopback port, for what localstripe 1.15
lacks: customer balance transactions (`/v1/customers/{id}/balance_transactions`)
and disputes. The stripe library talks to it over real HTTP, so our code,
the stripe library and dj-stripe's sync run unchanged; only Stripe is
replaced. It honours `Idempotency-Key` as Stripe does (same key → the first
answer again) and records every request for the tests to inspect.

Objects are served in the shapes of Stripe's own fixtures (stripe_fixtures/).
"""

import copy
import email.parser
import email.policy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent / "stripe_fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`metadata[key]=v`) back into a dict."""
    out: dict = {}
    for key, value in pairs:
        match = re.match(r"^(\w+)\[(\w+)\]$", key)
        if match:
            out.setdefault(match.group(1), {})[match.group(2)] = value
        else:
            out[key] = value
    return out


class FakeStripe:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.balance_transactions: dict[str, list[dict]] = {}
        self.idempotent: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.uploads: list[dict] = []  # each multipart upload as received: headers and parts
        self.fail_next_upload = 0
        self.fail_next_dispute = 0
        self.fail_next_credit = 0
        self.refuse_next_credit = 0
        self._counter = 0

    def reset(self) -> None:
        with self.lock:
            self.__init__()

    # Objects the tests put in "Stripe" -------------------------------------------------

    def add_customer(self, customer_id: str, email: str = "owner@acme.test") -> dict:
        customer = fixture("customer")
        customer.update(id=customer_id, email=email, currency="gbp", discount=None)
        customer["invoice_settings"] = {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        }
        self.customers[customer_id] = customer
        return customer

    def add_charge(self, charge_id: str, customer_id: str, amount: int = 2900) -> dict:
        charge = fixture("charge")
        charge.update(
            id=charge_id,
            customer=customer_id,
            amount=amount,
            amount_captured=amount,
            captured=True,
            currency="gbp",
            balance_transaction=None,
            payment_method=None,
            source=None,
            disputed=True,
        )
        charge["refunds"] = {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{charge_id}/refunds"}
        self.charges[charge_id] = charge
        return charge

    def set_dispute(self, dispute: dict) -> None:
        self.disputes[dispute["id"]] = copy.deepcopy(dispute)

    def credits_posted(self) -> list[str]:
        return [path for method, path in self.requests if method == "POST" and path.endswith("/balance_transactions")]

    # HTTP ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict]:
        with self.lock:
            self.requests.append((method, path))
            parts = urlsplit(path).path.strip("/").split("/")
            if parts[:1] != ["v1"]:
                return 404, _missing(path)
            parts = parts[1:]
            if parts == ["files"] and method == "POST":
                return self._file_create(headers, body)
            if len(parts) == 3 and parts[0] == "customers" and parts[2] == "balance_transactions":
                customer_id = parts[1]
                if customer_id not in self.customers:
                    return 404, _missing(path)
                if method == "GET":
                    data = list(reversed(self.balance_transactions.get(customer_id, [])))
                    return 200, {"object": "list", "data": data, "has_more": False, "url": path}
                key = headers.get("Idempotency-Key")
                if key and key in self.idempotent:
                    return 200, self.idempotent[key]
                if self.fail_next_credit:
                    self.fail_next_credit -= 1
                    return 500, {"error": {"type": "api_error", "message": "Fake outage", "code": "fake_outage"}}
                if self.refuse_next_credit:
                    self.refuse_next_credit -= 1
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "parameter_invalid_integer",
                            "param": "amount",
                            "message": "The customer balance cannot be adjusted for a deleted customer.",
                        }
                    }
                params = _unflatten(parse_qsl(body.decode()))
                self._counter += 1
                history = self.balance_transactions.setdefault(customer_id, [])
                balance = (history[-1]["ending_balance"] if history else 0) + int(params["amount"])
                txn = fixture("customer_balance_transaction")
                txn.update(
                    id=f"cbtxn_fake{self._counter:06d}",
                    amount=int(params["amount"]),
                    currency=params["currency"],
                    customer=customer_id,
                    description=params.get("description"),
                    metadata=params.get("metadata") or {},
                    ending_balance=balance,
                    created=int(time.time()),
                )
                history.append(txn)
                if key:
                    self.idempotent[key] = txn
                return 200, txn
            if len(parts) == 2 and parts[0] == "disputes" and method == "POST":
                found = self.disputes.get(parts[1])
                if found is None:
                    return 404, _missing(path)
                key = headers.get("Idempotency-Key")
                if key and key in self.idempotent:
                    return 200, self.idempotent[key]
                if self.fail_next_dispute:
                    self.fail_next_dispute -= 1
                    return 500, {"error": {"type": "api_error", "message": "Fake outage", "code": "fake_outage"}}
                if found["status"] not in ("needs_response", "warning_needs_response"):
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "dispute_already_submitted",
                            "message": "This dispute is no longer awaiting a response.",
                        }
                    }
                params = _unflatten(parse_qsl(body.decode()))
                found["evidence"] = {**found.get("evidence", {}), **(params.get("evidence") or {})}
                if params.get("submit") == "true":
                    found["status"] = "under_review"
                    details = found["evidence_details"]
                    details.update(submission_count=details.get("submission_count", 0) + 1, has_evidence=True)
                answer = copy.deepcopy(found)
                if key:
                    self.idempotent[key] = answer
                return 200, answer
            if len(parts) == 2 and method == "GET":
                store = {"disputes": self.disputes, "charges": self.charges, "customers": self.customers}.get(parts[0])
                if store is not None and parts[1] in store:
                    return 200, store[parts[1]]
            return 404, _missing(path)

    def _file_create(self, headers, body: bytes) -> tuple[int, dict]:
        """POST /v1/files (https://docs.stripe.com/api/files/create): multipart
        form data with `purpose` and `file`; Stripe keeps dispute evidence as
        PDF, JPEG or PNG up to 5 MB and reads the type from the content."""
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode() + body
        )
        parts = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            parts[name] = {
                "filename": part.get_filename(),
                "content_type": part.get_content_type(),
                "content": part.get_payload(decode=True),
            }
        self.uploads.append({"content_type": headers.get("Content-Type"), "parts": parts})
        key = headers.get("Idempotency-Key")
        if key and key in self.idempotent:
            return 200, self.idempotent[key]
        if self.fail_next_upload:
            self.fail_next_upload -= 1
            return 500, {"error": {"type": "api_error", "message": "Fake outage", "code": "fake_outage"}}
        if (parts.get("purpose") or {}).get("content") != b"dispute_evidence" or "file" not in parts:
            return 400, {"error": {"type": "invalid_request_error", "message": "Missing purpose or file."}}
        content = parts["file"]["content"]
        kinds = {b"%PDF-": "pdf", b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}
        kind = next((kind for magic, kind in kinds.items() if content.startswith(magic)), None)
        if kind is None:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "param": "file",
                    "message": "Invalid file: must be one of the following types: pdf, jpeg, png.",
                }
            }
        if len(content) > 5 * 1024 * 1024:
            return 400, {"error": {"type": "invalid_request_error", "param": "file", "message": "File too large."}}
        self._counter += 1
        file_id = f"file_fake{self._counter:06d}"
        created = int(time.time())
        answer = {
            "id": file_id,
            "object": "file",
            "created": created,
            "expires_at": created + 270 * 86400,
            "filename": parts["file"]["filename"],
            "links": {"object": "list", "data": [], "has_more": False, "url": f"/v1/file_links?file={file_id}"},
            "purpose": "dispute_evidence",
            "size": len(content),
            "title": None,
            "type": kind,
            "url": f"https://files.stripe.com/v1/files/{file_id}/contents",
        }
        self.files[file_id] = answer
        if key:
            self.idempotent[key] = answer
        return 200, answer


def _missing(path: str) -> dict:
    return {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "param": "id",
            "message": f"No such object: {path}",
        }
    }


def serve(fake: FakeStripe) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = fake.handle(self.command, self.path, self.headers, body)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", "req_fake")
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
