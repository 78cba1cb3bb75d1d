"""The speed layer's Python side: Avro wire format, topics, the producer, the Cassandra views."""
