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

import Foundation

/// One ranked entry with the evidence behind its rank.
public struct Candidate: Sendable, Equatable {
    /// Index of the entry in `KnowledgeBase.entries`.
    public let entryIndex: Int
    /// The entry's id.
    public let entryID: String
    /// First-stage coverage score in 0…1: matched term weight over the message's total term weight.
    public let score: Double
    /// Idf-weighted share of the entry's question terms present in the message, 0…1.
    public let questionCoverage: Double
    /// Number of the entry's keywords found in the message (by sound).
    public let keywordHits: Int
    /// The rarest content character of the message that the entry lacks, as its idf over the
    /// idf of an unseen term (0 when the entry holds every content character of the message).
    public let missedContent: Double
    /// The reranker's pairwise features, in `Reranker.names` order.
    public let features: [Double]
    /// The reranker's score (a logit: higher is better; only differences matter).
    public let rerankScore: Double
}

/// Everything the matcher learnt about one message: the ranking and the message-level facts
/// the confidence model reads.
public struct MatchResult: Sendable {
    /// Best first (by the reranker), at most `k`.
    public let candidates: [Candidate]
    /// The normalized message.
    public let text: NormalizedText
    /// Softmax of the reranker scores over the whole reranked pool: the top candidate's share.
    public let softmaxTop: Double
    /// The entry the first stage ranked first (before reranking), if any.
    public let firstStageTop: Int?

    init(candidates: [Candidate], text: NormalizedText, softmaxTop: Double = 0, firstStageTop: Int? = nil) {
        self.candidates = candidates
        self.text = text
        self.softmaxTop = softmaxTop
        self.firstStageTop = firstStageTop
    }
}

/// Ranks entries of one knowledge base.
public struct Matcher: Sendable {
    /// The knowledge base searched.
    public let knowledgeBase: KnowledgeBase

    /// The second-stage model over the first stage's best `Reranker.depth` entries.
    public let reranker: Reranker

    /// A matcher over `knowledgeBase`.
    public init(_ knowledgeBase: KnowledgeBase, reranker: Reranker = .bundled) {
        self.knowledgeBase = knowledgeBase
        self.reranker = reranker
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

        // The reranker's pool by a bounded insertion: the pool is small, the scan is one pass
        // over the accumulators.
        let depth = max(k, reranker.depth)
        var top: [(doc: Int, score: Float)] = []
        top.reserveCapacity(depth + 1)
        for d in 0..<scores.count {
            let s = scores[d]
            guard s > 0, top.count < depth || s > top[top.count - 1].score else { continue }
            var i = top.count
            while i > 0 && top[i - 1].score < s { i -= 1 }
            top.insert((d, s), at: i)
            if top.count > depth { top.removeLast() }
        }

        let maxScore = total * (SearchIndex.k1 + 1)
        var queryWeights: [Int32: Float] = [:]
        queryWeights.reserveCapacity(known.count)
        for (t, w) in known { queryWeights[t] = w * index.idf[Int(t)] }
        let query = QuerySide(text)
        let best = Double(top.first?.score ?? 0) / Double(maxScore)
        var pool = top.enumerated().map { rank, hit -> Candidate in
            let score = Double(min(hit.score / maxScore, 1))
            let cover = questionCoverage(hit.doc, queryWeights)
            let kw = keywordHits(hit.doc, text.sounds)
            let missed = missedContent(hit.doc, content)
            let f = [
                score,
                best > 0 ? score / best : 0,
                cover.entrySide,
                Double(min(kw, 3)),
                missed,
                Double(cover.querySide / total),
                query.soundCoverage(index.phrasingSounds[hit.doc]),
                query.lcsRatio(index.phrasingSounds[hit.doc]),
                query.categoryHit(index.categoryBigrams[hit.doc]),
                1 / Double(rank + 1),
                entryMissed(hit.doc, query.soundSet),
            ]
            return Candidate(
                entryIndex: hit.doc, entryID: knowledgeBase.entries[hit.doc].id, score: score,
                questionCoverage: cover.entrySide, keywordHits: kw, missedContent: missed,
                features: f, rerankScore: reranker.score(f))
        }
        let firstStageTop = pool.first?.entryIndex
        // Stable: equal reranker scores keep the first stage's order.
        pool = pool.enumerated().sorted {
            $0.element.rerankScore != $1.element.rerankScore ? $0.element.rerankScore > $1.element.rerankScore : $0.offset < $1.offset
        }.map(\.element)
        var softmaxTop = 0.0
        if let r1 = pool.first?.rerankScore {
            let sum = pool.reduce(0) { $0 + exp($1.rerankScore - r1) }
            softmaxTop = 1 / sum
        }
        return MatchResult(candidates: Array(pool.prefix(k)), text: text, softmaxTop: softmaxTop, firstStageTop: firstStageTop)
    }

    /// Idf-weighted coverage of the entry's question terms by the message (entry side), and the
    /// message's term weight found in the entry's questions (query side, raw).
    private func questionCoverage(_ doc: Int, _ queryWeights: [Int32: Float]) -> (entrySide: Double, querySide: Float) {
        let index = knowledgeBase.index
        var have: Float = 0, all: Float = 0, mine: Float = 0
        for t in index.questionTerms[doc] {
            let w = index.idf[Int(t)]
            all += w
            if let q = queryWeights[t] {
                have += w
                mine += q
            }
        }
        return (all > 0 ? Double(have / all) : 0, mine)
    }

    /// The rarest content character of the entry's question whose sound the message lacks, as
    /// its idf over the idf of an unseen term.
    private func entryMissed(_ doc: Int, _ sounds: Set<UInt32>) -> Double {
        let index = knowledgeBase.index
        var worst: Float = 0
        for (snd, t) in index.questionContent[doc] where !sounds.contains(snd) {
            worst = max(worst, index.idf[Int(t)])
        }
        return Double(worst / index.unseenIDF)
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
