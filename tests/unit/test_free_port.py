"""Ports for test deployments: free, distinct, and never one a client connection may take."""

import socket

from infra.supervisor import LOWEST_PORT, _first_ephemeral_port, free_port


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(LOWEST_PORT <= port < _first_ephemeral_port() for port in ports)
    for port in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
