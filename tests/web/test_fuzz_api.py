"""Requests generated from the OpenAPI spec (schemathesis) against the real app.

No 5xx, every response conforms to the spec (status code, content type, body schema),
and schema-valid requests are accepted. The admin endpoints are included, with a token.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from qa_service.config import Settings
from qa_service.index import build_index
from qa_service.web import create_app

from ..conftest import SEED_CORPUS, FakeEncoder, FakeReader, wait_for_rebuilds

TOKEN = "fuzz-token"
# benchmarks/reliability.py runs more examples and reads the number of cases back.
EXAMPLES = int(os.environ.get("QA_FUZZ_EXAMPLES", "60"))
COUNT_FILE = os.environ.get("QA_FUZZ_COUNT_FILE")


def _app():  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="qa-fuzz-"))
    shutil.copytree(SEED_CORPUS, root / "corpus")
    encoder = FakeEncoder()
    build_index(Settings(corpus_dir=root / "corpus", index_dir=root / "embeddings"), encoder)
    return create_app({"INDEX_DIR": str(root / "embeddings"), "CORPUS_DIR": str(root / "corpus"),
                       "ENCODER": encoder, "READER": FakeReader(), "MODEL": encoder.name,
                       "ADMIN_TOKEN": TOKEN,
                       "RELOAD_SECONDS": 0})


schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _app())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, positive_data_acceptance]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_conform(case) -> None:  # type: ignore[no-untyped-def]
    checks = CHECKS
    if case.media_type == "multipart/form-data":
        # Generated uploads are random bytes under names with no supported suffix: a 400
        # that names the file type is the right answer, not a refusal of valid data.
        checks = [c for c in CHECKS if c is not positive_data_acceptance]
    response = case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=checks)
    wait_for_rebuilds()  # before hypothesis draws the next case (see its docstring)
    if COUNT_FILE:
        with open(COUNT_FILE, "a") as counts:
            counts.write(f"{response.status_code}\n")
