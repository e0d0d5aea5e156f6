"""Weaviate's gRPC messages (``weaviate.v1``) to and from the in-memory fake's terms.

``weaviate_wire`` serves the real client; this module turns what arrives (filters, batch
objects, query and aggregation requests) into the argument objects that
``weaviate_memory.FakeCollection`` evaluates, and its results into the replies the client
parses. The messages are the generated classes shipped inside weaviate-client
(``weaviate.proto.v1``), so they are the ones the client sends.
"""

from __future__ import annotations

import uuid as uuid_package
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
from google.protobuf.json_format import MessageToDict
from weaviate.classes.aggregate import GroupByAggregate
from weaviate.classes.data import DataObject
from weaviate.classes.query import Metrics, Sort
from weaviate.collections.classes.aggregate import (
    AggregateGroupByReturn,
    AggregateReturn,
    AggregateText,
)
from weaviate.collections.classes.filters import (
    _FilterAnd,
    _FilterNot,
    _FilterOr,
    _Filters,
    _FilterValue,
    _Operator,
)
from weaviate.collections.classes.internal import Object
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    batch_pb2,
    properties_pb2,
    search_get_pb2,
)

_OPERATORS = {op._to_grpc(): op for op in _Operator}
_LISTS = ("value_text_array", "value_int_array", "value_number_array", "value_boolean_array")


def filters_from_grpc(pb: base_pb2.Filters, data_types: Mapping[str, str]) -> _Filters:
    """The client's filter object for a ``Filters`` message; date values (sent as text) are
    read as dates where the property is a date, as the server reads them."""
    operator = _OPERATORS[pb.operator]
    if operator in (_Operator.AND, _Operator.OR, _Operator.NOT):
        parts = [filters_from_grpc(f, data_types) for f in pb.filters]
        if operator == _Operator.NOT:
            return _FilterNot(parts[0])
        return _FilterAnd(parts) if operator == _Operator.AND else _FilterOr(parts)
    assert pb.target.WhichOneof("target") == "property", "the store filters on properties"
    prop = pb.target.property
    kind = pb.WhichOneof("test_value")
    value: Any = getattr(pb, kind)
    if kind in _LISTS:
        value = list(value.values)
    if data_types.get(prop) == "date":
        value = _date(value) if isinstance(value, str) else [_date(v) for v in value]
    return _FilterValue(target=prop, value=value, operator=operator)


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _vector(raw: bytes) -> list[float] | None:
    return np.frombuffer(raw, dtype="<f4").tolist() if raw else None


def batch_object(pb: batch_pb2.BatchObject, data_types: Mapping[str, str]) -> DataObject[Any, Any]:
    """A ``DataObject`` with the properties typed by the schema: the client sends scalars in
    a ``Struct``, where every number is a double."""
    assert not pb.vectors, "the store writes one unnamed vector"
    props = MessageToDict(pb.properties.non_ref_properties)
    for text_array in pb.properties.text_array_properties:
        props[text_array.prop_name] = list(text_array.values)
    for name, value in props.items():
        if data_types.get(name) == "int" and isinstance(value, float):
            props[name] = int(value)
    return DataObject(properties=props, uuid=pb.uuid, vector=_vector(pb.vector_bytes))


def near_vector(pb: Any) -> list[float]:
    """The query vector of a ``near_vector`` search (one unnamed vector)."""
    raw = pb.vectors[0].vector_bytes if pb.vectors else pb.vector_bytes
    vector = _vector(raw)
    assert vector is not None, "near_vector without a vector"
    return vector


def sort_from_grpc(sort_by: Any) -> Any:
    """The client's ``Sort`` for the ``sort_by`` of a search request (``None`` when empty)."""
    sorting = None
    for rule in sort_by:
        if sorting is None:
            sorting = Sort.by_property(rule.path[0], rule.ascending)
        else:
            sorting.by_property(rule.path[0], rule.ascending)
    return sorting


def _value(value: Any, data_type: str) -> properties_pb2.Value:
    if value is None:
        return properties_pb2.Value(null_value=0)
    if data_type == "date":
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        return properties_pb2.Value(date_value=text.replace("+00:00", "Z"))
    if data_type == "int":
        return properties_pb2.Value(int_value=int(value))
    if data_type == "number":
        return properties_pb2.Value(number_value=float(value))
    if data_type == "boolean":
        return properties_pb2.Value(bool_value=bool(value))
    return properties_pb2.Value(text_value=str(value))


def search_reply(
    objects: list[Object[Any, Any]],
    data_types: Mapping[str, str],
    metadata: search_get_pb2.MetadataRequest,
    collection: str,
) -> search_get_pb2.SearchReply:
    """The reply to a search: properties typed by the schema, and the score or distance
    when the request asked for it."""
    results = []
    for obj in objects:
        uid = uuid_package.UUID(str(obj.uuid))
        meta = search_get_pb2.MetadataResult(id=str(uid), id_as_bytes=uid.bytes)
        if metadata.score and obj.metadata.score is not None:
            meta.score, meta.score_present = obj.metadata.score, True
        if metadata.distance and obj.metadata.distance is not None:
            meta.distance, meta.distance_present = obj.metadata.distance, True
        fields = {k: _value(v, data_types.get(k, "text")) for k, v in obj.properties.items()}
        props = search_get_pb2.PropertiesResult(
            target_collection=collection,
            non_ref_props=properties_pb2.Properties(fields=fields),
        )
        results.append(search_get_pb2.SearchResult(properties=props, metadata=meta))
    return search_get_pb2.SearchReply(results=results)


def aggregate_args(
    pb: aggregate_pb2.AggregateRequest, data_types: Mapping[str, str]
) -> dict[str, Any]:
    """``aggregate.over_all`` arguments for an ``Aggregate`` request."""
    assert len(pb.aggregations) <= 1, "the store asks for at most one metric"
    metrics = None
    for aggregation in pb.aggregations:
        assert aggregation.WhichOneof("aggregation") == "text", "the store asks text metrics"
        text = aggregation.text
        limit = text.top_occurences_limit if text.HasField("top_occurences_limit") else None
        metrics = Metrics(aggregation.property).text(count=True, limit=limit)
    group_by = None
    if pb.HasField("group_by"):
        group_by = GroupByAggregate(prop=pb.group_by.property, limit=pb.limit or None)
    return {
        "filters": filters_from_grpc(pb.filters, data_types) if pb.HasField("filters") else None,
        "group_by": group_by,
        "total_count": pb.objects_count,
        "return_metrics": metrics,
    }


_Reply = aggregate_pb2.AggregateReply
_Aggregation = _Reply.Aggregations.Aggregation


def _aggregations(
    properties: Mapping[str, Any], asked: aggregate_pb2.AggregateRequest
) -> _Reply.Aggregations:
    """The metrics asked for: top occurrences only when ``top_occurences`` was set, the count
    only when ``count`` was (the server computes what the request names)."""
    wanted = {a.property: a.text for a in asked.aggregations}
    found = []
    for name, result in properties.items():
        assert isinstance(result, AggregateText)
        text = _Aggregation.Text()
        if wanted[name].count:
            text.count = result.count or 0
        if wanted[name].top_occurences:
            text.top_occurences.items.extend(
                _Aggregation.Text.TopOccurrences.TopOccurrence(value=str(t.value), occurs=t.count)
                for t in result.top_occurrences
            )
        found.append(_Aggregation(property=name, text=text))
    return _Reply.Aggregations(aggregations=found)


def aggregate_reply(
    result: AggregateReturn | AggregateGroupByReturn, asked: aggregate_pb2.AggregateRequest
) -> _Reply:
    """The reply to an ``Aggregate`` request."""
    if isinstance(result, AggregateReturn):
        single = _Reply.Single(aggregations=_aggregations(result.properties, asked))
        if result.total_count is not None:
            single.objects_count = result.total_count
        return _Reply(single_result=single)
    groups = []
    for group in result.groups:
        grouped_by = _Reply.Group.GroupedBy(path=[group.grouped_by.prop])
        grouped_by.text = str(group.grouped_by.value)
        reply_group = _Reply.Group(
            grouped_by=grouped_by, aggregations=_aggregations(group.properties, asked)
        )
        if group.total_count is not None:
            reply_group.objects_count = group.total_count
        groups.append(reply_group)
    return _Reply(grouped_results=_Reply.Grouped(groups=groups))
