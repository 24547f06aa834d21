"""Cloud engine adapters against loopback fakes of each provider."""
