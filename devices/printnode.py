"""PrintNode: API key as Basic-auth user (encrypted at rest), computers and printers from the API, print jobs with
PDFs (pdf_base64) or raw labels (raw_base64). 401 → the account is marked failing; 429 → retried later."""

from __future__ import annotations

import base64
import logging

import requests
from django.conf import settings

logger = logging.getLogger(__name__)


class PrintNodeError(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry: bool = False):
        super().__init__(message)
        self.status, self.retry = status, retry


class PrintNodeClient:
    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 15):
        self.base_url = (base_url or settings.PRINTNODE_API_URL).rstrip("/")
        self.session = requests.Session()
        self.session.auth = (api_key, "")
        self.session.headers.update({"Accept": "application/json", "Accept-Version": "~3"})
        self.timeout = timeout

    def _request(self, method: str, path: str, **kwargs):
        try:
            response = self.session.request(
                method, f"{self.base_url}{path}", timeout=self.timeout, allow_redirects=method == "GET", **kwargs
            )
        except requests.RequestException as err:
            raise PrintNodeError(f"PrintNode nie odpowiada: {err.__class__.__name__}.", retry=True) from err
        logger.info("printnode %s %s -> %s", method, path, response.status_code)
        if response.status_code == 401:
            raise PrintNodeError("PrintNode odrzucił klucz API (401).", status=401)
        if response.status_code == 429:
            raise PrintNodeError(
                "PrintNode ogranicza liczbę zapytań (429) — ponowimy za chwilę.", status=429, retry=True
            )
        if response.status_code >= 500:
            raise PrintNodeError(
                f"Błąd serwera PrintNode ({response.status_code}).", status=response.status_code, retry=True
            )
        if response.status_code >= 400:
            try:
                message = response.json().get("message", "")
            except ValueError:
                message = ""
            raise PrintNodeError(
                f"PrintNode odrzucił żądanie ({response.status_code}): {message}", status=response.status_code
            )
        return response.json()

    def whoami(self) -> dict:
        return self._request("GET", "/whoami")

    def computers(self) -> list[dict]:
        return self._request("GET", "/computers")

    def printers(self) -> list[dict]:
        return self._request("GET", "/printers")

    def print(self, *, printer_id: int, title: str, content: bytes, content_type: str, key: str) -> int:
        """content_type: pdf_base64 or raw_base64. Returns PrintNode's job id (a bare JSON integer)."""
        body = {
            "printerId": int(printer_id),
            "title": title[:100],
            "contentType": content_type,
            "content": base64.b64encode(content).decode(),
            "source": "Apilo back-office",
        }
        return int(self._request("POST", "/printjobs", json=body, headers={"X-Idempotency-Key": key}))
