import Testing
import IntakeJSON
@Test func IntakeJSONBuilds() { #expect(Bool(true)) }
