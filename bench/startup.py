"""Start-up: seconds from `consulta serve` process start to /readyz answering 200."""

from __future__ import annotations

from bench.common import child_server


def run(rounds: int = 3) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        with child_server() as server:
            times.append(server.ready_after)
    return {"time_to_serving_s": round(min(times), 2)}


if __name__ == "__main__":
    print(run(1))
