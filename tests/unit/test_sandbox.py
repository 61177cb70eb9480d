"""The sandbox answers serialization contexts itself only for converters that take none."""

from __future__ import annotations

import dataclasses
import os
from typing import Self

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import SerializationContext, WithSerializationContext

from orchestrator.client import EncryptionCodec, SharedPayloadConverter
from orchestrator.workflow.sandbox import check_context_free


def codec() -> EncryptionCodec:
    return EncryptionCodec({"k1": os.urandom(32)}, "k1")


class ContextAwareCodec(EncryptionCodec, WithSerializationContext):
    def with_context(self, context: SerializationContext) -> Self:
        return type(self)({"k1": os.urandom(32)}, "k1")


def test_our_converter_takes_no_context() -> None:
    ours = dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SharedPayloadConverter,
        payload_codec=codec(),
    )
    check_context_free(ours)


def test_a_codec_that_takes_context_is_refused() -> None:
    aware = dataclasses.replace(
        pydantic_data_converter, payload_codec=ContextAwareCodec({"k1": os.urandom(32)}, "k1")
    )
    with pytest.raises(ValueError, match="workflow's context"):
        check_context_free(aware)


def test_one_payload_converter_per_process() -> None:
    assert SharedPayloadConverter() is SharedPayloadConverter()
    assert SharedPayloadConverter().to_payload({"a": 1}) is not None
