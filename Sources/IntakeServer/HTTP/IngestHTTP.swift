// IntakeServer: POST /api/v1/messages — an app back end or webhook sender hands in one
// envelope; 202 with {"id","session","duplicate"} once it is durable. Runs on the loop thread;
// the response may come from the store's thread through the responder.
import IntakeWire
import IntakeJSON
import IntakeCore

enum IngestHTTP {
    static func handle(_ request: HTTPRequest, apps: AppAuthenticator, ingestor: (any Ingestor)?, responder: HTTPResponder) {
        func fail(_ e: ClientError) { responder.respond(e.response) }
        guard let auth = request.head.headers["Authorization"], auth.hasPrefix("Bearer "),
              let app = apps.authenticate(bearer: String(auth.dropFirst(7)).trimmingSpaces())
        else {
            authFailures.increment()
            var r = ClientError.unauthorized("send Authorization: Bearer <app key>").response
            r.headers.add(name: "WWW-Authenticate", value: "Bearer")
            return responder.respond(r)
        }
        if let ct = request.head.headers["Content-Type"], !ct.lowercased().hasPrefix("application/json") {
            return fail(ClientError("unsupported_media_type", "the body must be application/json", status: HTTPStatus(code: 415)))
        }
        let json: JSON
        do { json = try JSON.parse(request.body) } catch { return fail(.badJSON("body is not valid JSON: \(error)")) }
        let envelope: Envelope
        do { envelope = try Envelope.decodeIngest(json) } catch { return fail(.invalidEnvelope(error.message)) }
        guard envelope.account == app.account else {
            return fail(.forbidden("this key belongs to account '\(app.account)', not '\(envelope.account)'"))
        }
        guard let ingestor else { return fail(.unavailable("the store is not ready")) }
        ingestor.ingest(envelope) { outcome in
            switch outcome {
            case .accepted:
                responder.respond(.json(.accepted, outcome.line(idKey: "id")))
            case .failed(let e):
                responder.respond(e.response)
            }
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
