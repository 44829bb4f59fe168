import Testing
@testable import IntakeNet
@Test func IntakeNetBuilds() { #expect(Bool(true)) }
