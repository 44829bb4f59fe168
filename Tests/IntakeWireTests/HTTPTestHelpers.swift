// Helpers for the HTTP tests: feed an input to a fresh parser in every chunking and check that
// the outcome does not depend on how the bytes were cut. Test-thread only.
import IntakeTestSupport
import Testing
@testable import IntakeWire

/// What a parser produced from one cutting of an input.
struct ParseOutcome {
    var requests: [HTTPRequest] = []
    var error: HTTPParseError?
    var parser: HTTPRequestParser
}

/// Feeds `pieces` one by one, draining `next()` after each.
func parse(_ pieces: [[UInt8]], limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
    var outcome = ParseOutcome(parser: HTTPRequestParser(limits: limits))
    for piece in pieces {
        outcome.parser.feed(piece)
        do {
            while let request = try outcome.parser.next() { outcome.requests.append(request) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

/// Parses `input` whole, byte by byte and at random splits; expects every cutting to give the
/// same requests and error, and returns the outcome of feeding it whole.
@discardableResult
func parseEveryWay(_ input: [UInt8], limits: HTTPLimits = HTTPLimits(), randomSplits: Int = 8,
                   sourceLocation: SourceLocation = #_sourceLocation) -> ParseOutcome {
    let cuts = chunkings(of: input, randomSplits: randomSplits)
    let reference = parse(cuts[0].pieces, limits: limits)
    for cut in cuts.dropFirst() {
        let outcome = parse(cut.pieces, limits: limits)
        #expect(outcome.requests == reference.requests, "requests differ when fed \(cut)", sourceLocation: sourceLocation)
        #expect(outcome.error == reference.error, "error differs when fed \(cut)", sourceLocation: sourceLocation)
    }
    return reference
}

/// `parseEveryWay` of a String's UTF-8.
@discardableResult
func parseEveryWay(_ input: String, limits: HTTPLimits = HTTPLimits(), randomSplits: Int = 8,
                   sourceLocation: SourceLocation = #_sourceLocation) -> ParseOutcome {
    parseEveryWay(Array(input.utf8), limits: limits, randomSplits: randomSplits, sourceLocation: sourceLocation)
}

/// Expects `input` to be refused with `status` however it is cut, with no request before it.
func expectRefused(_ input: String, _ status: HTTPStatus, limits: HTTPLimits = HTTPLimits(),
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let outcome = parseEveryWay(input, limits: limits, randomSplits: 3, sourceLocation: sourceLocation)
    #expect(outcome.requests.isEmpty, "a request came out of \(input.debugDescription)", sourceLocation: sourceLocation)
    #expect(outcome.error?.status == status,
            "\(input.debugDescription): expected \(status.code), got \(outcome.error?.description ?? "no error")",
            sourceLocation: sourceLocation)
}

/// Expects `input` to parse as exactly one request, however it is cut, and returns it.
func expectOne(_ input: String, limits: HTTPLimits = HTTPLimits(),
               sourceLocation: SourceLocation = #_sourceLocation) -> HTTPRequest? {
    let outcome = parseEveryWay(input, limits: limits, randomSplits: 3, sourceLocation: sourceLocation)
    #expect(outcome.error == nil, "\(input.debugDescription): \(outcome.error?.description ?? "")", sourceLocation: sourceLocation)
    #expect(outcome.requests.count == 1, "\(input.debugDescription): \(outcome.requests.count) requests",
            sourceLocation: sourceLocation)
    return outcome.requests.first
}

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }
