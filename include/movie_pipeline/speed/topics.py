"""The speed layer's Kafka topics, created idempotently (an existing topic is left as it is)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from movie_pipeline.config import SpeedSettings
from movie_pipeline.errors import PipelineError
from movie_pipeline.schemas.avro import DEAD_LETTER_TOPIC, EVENT_TYPES

# answers while a partition's leadership moves; librdkafka does not mark them retriable on this call
_LEADER_MOVING = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.FENCED_LEADER_EPOCH,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def topic_configs(speed: SpeedSettings) -> dict[str, dict[str, str]]:
    """Each topic and its configuration: the metadata topic is compacted, the others kept for the retention."""
    retention_ms = str(int(speed.kafka_retention_hours * 3600 * 1000))
    # with replication 3 a write acknowledged by acks=all is on two brokers at least: one may go, nothing is lost
    durability = {"min.insync.replicas": "1" if speed.kafka_replication == 1 else "2"}
    configs = {
        event_type.topic: {**durability, **({"cleanup.policy": "compact"} if event_type.compacted else {"retention.ms": retention_ms})}
        for event_type in EVENT_TYPES
    }
    configs[DEAD_LETTER_TOPIC] = {**durability, "retention.ms": retention_ms}
    return configs


def ensure_topics(speed: SpeedSettings, timeout: float = 30.0) -> list[str]:
    """Create the missing topics; return the speed layer's topics that exist afterwards."""
    admin = AdminClient({"bootstrap.servers": speed.kafka_bootstrap_servers})
    configs = topic_configs(speed)
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [
        NewTopic(name, num_partitions=speed.kafka_partitions, replication_factor=speed.kafka_replication, config=config)
        for name, config in configs.items()
        if name not in existing
    ]
    for name, future in (admin.create_topics(missing, request_timeout=timeout) if missing else {}).items():
        try:
            future.result()
        except Exception as error:  # noqa: BLE001 - KafkaException wraps the broker's answer
            if error.args and getattr(error.args[0], "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # created meanwhile by another caller
            raise PipelineError(f"creating Kafka topic {name} failed: {error}") from error
    # a topic the controller has just created reaches the brokers' metadata a moment later
    deadline = time.monotonic() + timeout
    present = set(admin.list_topics(timeout=timeout).topics)
    while not set(configs) <= present and time.monotonic() < deadline:
        time.sleep(0.2)
        present = set(admin.list_topics(timeout=timeout).topics)
    return sorted(name for name in configs if name in present)


def watermarks(consumer: Consumer, topics, timeout: float = 30.0) -> list[tuple[str, int, int, int]]:
    """(topic, partition, low, high) of every partition of the topics (a missing topic has none).

    A partition's leader may move while this asks (a broker restarted, the controller rebalancing
    leaders minutes later): a retriable answer is asked again, with fresh metadata, until ``timeout``."""
    deadline = time.monotonic() + timeout
    marks = []
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        for partition in sorted(metadata.partitions) if metadata and metadata.partitions else []:
            while True:
                try:
                    low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                    break
                except KafkaException as error:
                    if error.args[0].code() not in _LEADER_MOVING or time.monotonic() > deadline:
                        raise
                    time.sleep(1)
                    consumer.list_topics(topic, timeout=10)  # refreshes the partition's leader
            marks.append((topic, partition, low, high))
    return marks
