import Testing
@testable import IntakeWire
@Test func IntakeWireBuilds() { #expect(Bool(true)) }
