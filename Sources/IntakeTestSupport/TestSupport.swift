// IntakeTestSupport: helpers shared by the test targets.
