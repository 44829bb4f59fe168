import Testing
@testable import IntakeStore
@Test func IntakeStoreBuilds() { #expect(Bool(true)) }
