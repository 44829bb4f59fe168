// The acknowledgement lines, built by hand on the hot path, equal the JSON values they stand for.
import Testing
@testable import IntakeServer
import IntakeJSON

@Suite(.timeLimit(.minutes(5)))
struct IngestOutcomeTests {
    @Test(arguments: [false, true])
    func handBuiltLinesMatchTheJSON(duplicate: Bool) throws {
        let o = IngestOutcome.accepted(id: "m0123456789abcd", session: "s\"quoted\\", duplicate: duplicate)
        for key in ["ack", "id"] {
            let line = key == "ack" ? o.line(idKey: "ack") : o.line(idKey: "id")
            #expect(line == o.json(idKey: key).serializedBytes)
            #expect(try JSON.parse(line)["duplicate"]?.boolValue == duplicate)
        }
        let failed = IngestOutcome.failed(.unavailable("disk full"))
        #expect(try JSON.parse(failed.line(idKey: "ack"))["error"]?.stringValue == "unavailable")
    }
}
