"""The sandbox answers serialization contexts itself only for converters that take none."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Self

import pytest
from temporalio.converter import DataConverter, SerializationContext, WithSerializationContext

from infra.settings import Settings
from orchestrator.client import EncryptionCodec, SharedPayloadConverter, data_converter
from orchestrator.workflow.sandbox import check_context_free


class ContextAwareCodec(EncryptionCodec, WithSerializationContext):
    def with_context(self, context: SerializationContext) -> Self:
        return type(self)({"k1": os.urandom(32)}, "k1")


@pytest.fixture
def ours(tmp_path: Path) -> DataConverter:
    """The deployment's own data converter."""
    return data_converter(Settings.model_validate({"state_dir": tmp_path}))


def test_our_converter_takes_no_context(ours: DataConverter) -> None:
    check_context_free(ours)


def test_a_codec_that_takes_context_is_refused(ours: DataConverter) -> None:
    aware = dataclasses.replace(ours, payload_codec=ContextAwareCodec({"k1": os.urandom(32)}, "k1"))
    with pytest.raises(ValueError, match="workflow's context"):
        check_context_free(aware)


def test_one_payload_converter_per_process() -> None:
    assert SharedPayloadConverter() is SharedPayloadConverter()
    assert SharedPayloadConverter().to_payload({"a": 1}) is not None
