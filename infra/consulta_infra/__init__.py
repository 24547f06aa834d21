"""AWS CDK app that deploys Consulta's scaled-out shape: NLB, servers, workers, RDS, MQ, S3."""
