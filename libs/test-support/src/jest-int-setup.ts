// Real brokers and databases: a consumer group join alone takes seconds on a 2-core machine.
jest.setTimeout(90_000);
