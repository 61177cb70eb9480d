"""Settings, logging, connections, shared state and the embedded stack (Temporal dev server,
Kafka-protocol broker). Import the module you need: every process imports this package, and
what one of its modules loads (the stack's tools, SQLAlchemy) is no other process's weight."""
