// FAQBot: ranks knowledge-base entries for one citizen message. Stateless over an immutable
// index; any thread (each call allocates its own accumulators).
//
// Design
// - Evidence: the message's distinct terms (character unigrams, bigrams, pinyin bigrams) are
//   looked up in the inverted index; each entry's score is the sum of the BM25 impacts of the
//   terms it holds, weighted per term kind. Pinyin bigrams carry homophones (公鸡金 ~ 公积金) and
//   unigrams carry single-character typos, so a misspelt bigram costs part of the score, not all.
// - Length: the score is divided by what a perfect entry would get for the same message (the
//   sum of the message's term weights × idf × (k1 + 1)), so it is a coverage in 0…1 and cannot
//   grow as a message gets longer: extra words add to the denominator at least as much as to any
//   numerator. Messages are cut at `Normalizer.maxUnits` units, which also bounds the work.
// - Entry side: for the best candidates the matcher also measures how much of the entry's own
//   question the message covers, and which keywords it contains (by sound); a short message that
//   covers an entry's whole question is strong evidence even if the message adds chatter.
// - It does not decide: `Confidence` turns these features into a probability and `Bot` decides.
//   Ranking is deterministic: equal scores fall back to file order.

/// One ranked entry with the evidence behind its rank.
public struct Candidate: Sendable, Equatable {
    /// Index of the entry in `KnowledgeBase.entries`.
    public let entryIndex: Int
    /// The entry's id.
    public let entryID: String
    /// Coverage score in 0…1: matched term weight over the message's total term weight.
    public let score: Double
    /// Idf-weighted share of the entry's question terms present in the message, 0…1.
    public let questionCoverage: Double
    /// Number of the entry's keywords found in the message (by sound).
    public let keywordHits: Int
    /// The rarest content character of the message that the entry lacks, as its idf over the
    /// idf of an unseen term (0 when the entry holds every content character of the message).
    public let missedContent: Double
}

/// Everything the matcher learnt about one message: the ranking and the message-level facts
/// the confidence model reads.
public struct MatchResult: Sendable {
    /// Best first, at most `k`.
    public let candidates: [Candidate]
    /// The normalized message.
    public let text: NormalizedText
}

/// Ranks entries of one knowledge base.
public struct Matcher: Sendable {
    /// The knowledge base searched.
    public let knowledgeBase: KnowledgeBase

    /// A matcher over `knowledgeBase`.
    public init(_ knowledgeBase: KnowledgeBase) {
        self.knowledgeBase = knowledgeBase
    }

    /// The top `k` entries for `message`.
    public func match(_ message: String, k: Int = 5) -> MatchResult {
        let index = knowledgeBase.index
        let text = index.normalizer.normalize(message)
        guard text.count > 0, index.count > 0 else { return MatchResult(candidates: [], text: text) }

        // Distinct query terms with their weights; unknown terms only raise the denominator.
        var seen = Set<UInt64>()
        seen.reserveCapacity(text.count * 3)
        var known: [(term: Int32, weight: Float)] = []
        var content: [Int32] = []
        var total: Float = 0
        Terms.forEach(text) { key, w in
            guard seen.insert(key).inserted else { return }
            if let t = index.termIDs[key] {
                known.append((t, w))
                if Terms.kind(of: key) == .unigram && w == TermKind.unigram.queryWeight
                    && Normalizer.isCJK(UInt32(truncatingIfNeeded: key >> 29)) { content.append(t) }
                total += w * index.idf[Int(t)]
            } else {
                total += w * index.unseenIDF * 0.5
            }
        }
        guard total > 0 else { return MatchResult(candidates: [], text: text) }

        var scores = [Float](repeating: 0, count: index.count)
        index.docs.withUnsafeBufferPointer { docs in
            index.impacts.withUnsafeBufferPointer { impacts in
                scores.withUnsafeMutableBufferPointer { acc in
                    for (t, w) in known {
                        let from = Int(index.start[Int(t)]), to = Int(index.start[Int(t) + 1])
                        for p in from..<to { acc[Int(docs[p])] += w * impacts[p] }
                    }
                }
            }
        }

        // Top k by a bounded insertion: k is tiny, the scan is one pass over the accumulators.
        var top: [(doc: Int, score: Float)] = []
        top.reserveCapacity(k + 1)
        for d in 0..<scores.count {
            let s = scores[d]
            guard s > 0, top.count < k || s > top[top.count - 1].score else { continue }
            var i = top.count
            while i > 0 && top[i - 1].score < s { i -= 1 }
            top.insert((d, s), at: i)
            if top.count > k { top.removeLast() }
        }

        let maxScore = total * (SearchIndex.k1 + 1)
        let queryTerms = Set(known.map(\.term))
        let candidates = top.map { hit -> Candidate in
            Candidate(
                entryIndex: hit.doc,
                entryID: knowledgeBase.entries[hit.doc].id,
                score: Double(min(hit.score / maxScore, 1)),
                questionCoverage: questionCoverage(hit.doc, queryTerms),
                keywordHits: keywordHits(hit.doc, text.sounds),
                missedContent: missedContent(hit.doc, content))
        }
        return MatchResult(candidates: candidates, text: text)
    }

    private func questionCoverage(_ doc: Int, _ queryTerms: Set<Int32>) -> Double {
        let index = knowledgeBase.index
        var have: Float = 0, all: Float = 0
        for t in index.questionTerms[doc] {
            let w = index.idf[Int(t)]
            all += w
            if queryTerms.contains(t) { have += w }
        }
        return all > 0 ? Double(have / all) : 0
    }

    private func missedContent(_ doc: Int, _ content: [Int32]) -> Double {
        let index = knowledgeBase.index
        var worst: Float = 0
        for t in content where index.idf[Int(t)] > worst {
            // Postings are in entry order, so membership is a binary search.
            var lo = Int(index.start[Int(t)]), hi = Int(index.start[Int(t) + 1])
            while lo < hi {
                let mid = (lo + hi) / 2
                if Int(index.docs[mid]) < doc { lo = mid + 1 } else { hi = mid }
            }
            if lo == Int(index.start[Int(t) + 1]) || Int(index.docs[lo]) != doc { worst = index.idf[Int(t)] }
        }
        return Double(worst / index.unseenIDF)
    }

    private func keywordHits(_ doc: Int, _ sounds: [UInt32]) -> Int {
        var hits = 0
        for keyword in knowledgeBase.index.keywordSounds[doc] where keyword.count <= sounds.count {
            var i = 0
            while i + keyword.count <= sounds.count {
                if sounds[i] == keyword[0] && sounds[i..<(i + keyword.count)].elementsEqual(keyword) {
                    hits += 1
                    break
                }
                i += 1
            }
        }
        return hits
    }
}
