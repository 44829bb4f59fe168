import Testing
@testable import IntakeServer
@Test func IntakeServerBuilds() { #expect(Bool(true)) }
