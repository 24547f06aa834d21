"""The development stack on this machine, outside the tests so that ``make stack``, bench/
and the tests share it: SeaweedFS as a local S3 server (``seaweed``), a development CA and
certificates (``certs``), the check that PostgreSQL and RabbitMQ are up (``services``),
the scaled-out stack of separate processes (``stack``), and speech encoded as recorders send
it (``audio_encode``)."""
