"""The core's Prometheus series: live connections and subscriptions per process, events published and delivered,
fan-out latency, resume replays and slow consumers cut off. Other apps declare their own series beside the code that
counts (``functions.actions``, ``imports.jobs``, ``platform_api.metrics``); ``config.metrics`` exposes them all.

Under ``config.serve`` and Celery workers the values live in files shared by the processes of a host
(prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``); elsewhere (tests, commands) in memory.
"""

from prometheus_client import Counter, Gauge, Histogram

# What each process holds now (one series per live process: the ``pid`` label).
CONNECTIONS = Gauge(
    "parley_websocket_connections",
    "Open websocket connections of this process, by protocol.",
    ["protocol"],
    multiprocess_mode="liveall",
)
SUBSCRIPTIONS = Gauge(
    "parley_websocket_subscriptions",
    "Topics listened to by this process's connections (one per connection and topic).",
    multiprocess_mode="liveall",
)
EVENTS_PUBLISHED = Counter("parley_events_published", "Events published on the bus after their commit.")
PUBLISH_FAILURES = Counter(
    "parley_events_publish_failures", "Publishes that failed (the hubs catch their listeners up from the database)."
)
EVENTS_DELIVERED = Counter("parley_events_delivered", "Event deliveries handed to local connections.")
FANOUT_SECONDS = Histogram(
    "parley_fanout_latency_seconds",
    "From an event's publication to its deliveries handed to this process's connections.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RESUME_REPLAYS = Counter(
    "parley_resume_replayed_messages", "Messages replayed to connections that resumed or caught up."
)
SLOW_CONSUMERS_CLOSED = Counter(
    "parley_slow_consumers_closed", "Connections cut off because they stopped reading past their bound."
)
