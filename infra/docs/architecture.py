"""Draws architecture.png (run `make diagram`; needs Graphviz). Tests never redraw it."""

from __future__ import annotations

from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import EC2AutoScaling
from diagrams.aws.database import RDSPostgresqlInstance
from diagrams.aws.integration import MQ
from diagrams.aws.management import Cloudwatch
from diagrams.aws.network import NLB, NATGateway
from diagrams.aws.security import KMS, SecretsManager
from diagrams.aws.storage import S3
from diagrams.onprem.client import Users

GRAPH = {"pad": "0.8", "nodesep": "0.7", "ranksep": "1.2", "fontsize": "20", "splines": "spline"}

with Diagram(
    "Consulta on AWS (ConsultaDev / ConsultaProd)",
    filename="architecture",
    outformat="png",
    show=False,
    direction="LR",
    graph_attr=GRAPH,
):
    clients = Users("gRPC clients\n(stubs, CLI, grpcurl)")
    providers = Users("OpenAI / Groq APIs")
    with Cluster("VPC (2 AZs)"):
        with Cluster("public subnets"):
            nlb = NLB("NLB :443\nTLS or pass-through\nhealth: HTTP :8081/readyz")
            nat = NATGateway("NAT gateway")
        with Cluster("private subnets"):
            servers = EC2AutoScaling("servers ASG\nconsulta serve --no-worker\nCPU target tracking")
            workers = EC2AutoScaling("workers ASG\nconsulta worker\nscaled on consulta.jobs depth")
        with Cluster("isolated subnets"):
            db = RDSPostgresqlInstance("RDS PostgreSQL 16\n:5432, encrypted\nmulti-AZ in prod")
            broker = MQ("Amazon MQ RabbitMQ\nAMQPS :5671\ncluster in prod")
    audio = S3("audio bucket\nSSE-KMS, TLS only\nexpires after N days")
    secrets = SecretsManager("Secrets Manager\nDB, broker, JWT, provider keys")
    keys = KMS("KMS keys\naudio, data")
    watch = Cloudwatch("CloudWatch\nlogs, metric filters, alarms")

    clients >> Edge(label="gRPC over TLS") >> nlb
    nlb >> Edge(label=":50051 gRPC, :8081 /readyz") >> servers
    for fleet in (servers, workers):
        fleet >> Edge(label="5432") >> db
        fleet >> Edge(label="5671") >> broker
        fleet >> Edge(style="dashed") >> audio
        fleet >> Edge(style="dotted") >> secrets
        fleet >> Edge(style="dotted") >> watch
    workers >> Edge(label="HTTPS") >> nat >> providers
    broker >> Edge(style="dotted", label="MessageCount") >> watch
    audio - Edge(style="dotted") - keys
