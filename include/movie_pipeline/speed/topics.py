"""The speed layer's Kafka topics, created idempotently (an existing topic is left as it is)."""

from __future__ import annotations

from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, NewTopic

from movie_pipeline.config import SpeedSettings
from movie_pipeline.errors import PipelineError
from movie_pipeline.schemas.avro import DEAD_LETTER_TOPIC, EVENT_TYPES


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
    present = set(admin.list_topics(timeout=timeout).topics)
    return sorted(name for name in configs if name in present)
