// The agent directory: decoding the --agents file, and every validation error naming the
// agent and the field.
import Testing
import IntakeJSON
@testable import IntakeCore

@Suite(.timeLimit(.minutes(5))) struct AgentDirectoryTests {
    @Test func decodesTheContractExample() throws {
        let json = try JSON.parse("""
            [ { "id": "a001", "name": "王芳", "skills": { "general": 3, "enterprise": 5 },
                "capacity": { "chat": 5, "voice": 1 }, "token": "env:AGENT_A001_TOKEN" },
              { "id": "a000", "name": "Li", "skills": {}, "capacity": { "chat": 2 }, "secret": "s3cret" } ]
            """)
        let d = try AgentDirectory.decode(json)
        #expect(d.agents.map(\.id) == ["a000", "a001"], "sorted by id")
        let a = d.agents[1]
        #expect(a.name == "王芳" && a.skills == ["general": 3, "enterprise": 5] && a.capacity == [.chat: 5, .voice: 1])
        #expect(a.credential == .token("env:AGENT_A001_TOKEN") && a.credential.field == "token")
        #expect(a.credential.environmentName == "AGENT_A001_TOKEN")
        #expect(d.agents[0].credential.field == "secret" && d.agents[0].credential.environmentName == nil)
        #expect(d.agents[0].capacity[.voice] == nil)
    }

    static let bad: [(String, String)] = [
        (#"{"id":"a"}"#, "the agent directory must be a JSON array of agents"),
        (#"[{"id":"a b","name":"x","skills":{},"capacity":{},"token":"t"}]"#, "agent #0: field 'id' must be 1-64 characters from A-Z a-z 0-9 . _ -"),
        (#"[{"name":"x","skills":{},"capacity":{},"token":"t"}]"#, "agent #0: field 'id' must be a string"),
        (#"[{"id":"a","name":"x","skills":{"general":6},"capacity":{},"token":"t"}]"#, "agent a: field 'skills.general' must be an integer from 1 to 5 (got 6)"),
        (#"[{"id":"a","name":"x","skills":{"general":0},"capacity":{},"token":"t"}]"#, "agent a: field 'skills.general' must be an integer from 1 to 5 (got 0)"),
        (#"[{"id":"a","name":"x","skills":{"general":"3"},"capacity":{},"token":"t"}]"#, "agent a: field 'skills.general' must be an integer from 1 to 5"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{"chat":-1},"token":"t"}]"#, "agent a: field 'capacity.chat' must be an integer from 0 to 100 (got -1)"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{"voice":2},"token":"t"}]"#, "agent a: field 'capacity.voice' must be 0 or 1 (got 2)"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{"fax":1},"token":"t"}]"#, "agent a: field 'capacity.fax' is not a channel kind (chat, voice)"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{}}]"#, "agent a: field 'token' is missing (give a token or a secret)"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{},"token":"t","secret":"s"}]"#, "agent a: field 'secret' cannot be given together with a token"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{},"secret":"env:"}]"#, "agent a: field 'secret' names no environment variable after 'env:'"),
        (#"[{"id":"a","name":"","skills":{},"capacity":{},"token":"t"}]"#, "agent a: field 'name' must be a non-empty string"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{},"token":"t","extra":1}]"#, "agent a: field 'extra' is not a known field"),
        (#"[{"id":"a","name":"x","skills":{},"capacity":{},"token":"t"},{"id":"a","name":"y","skills":{},"capacity":{},"token":"u"}]"#, "agent a: field 'id' is not unique"),
    ]

    @Test(arguments: bad) func refusesWithAgentAndField(_ text: String, _ message: String) throws {
        let json = try JSON.parse(text)
        #expect(throws: DirectoryError.self) { try AgentDirectory.decode(json) }
        do {
            _ = try AgentDirectory.decode(json)
        } catch {
            #expect(error.description == message)
        }
    }
}
