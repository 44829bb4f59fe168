// FAQBotTests: normalization — width, traditional characters, case, punctuation and emoji.
import FAQBot
import Testing

@Suite(.timeLimit(.minutes(5)))
struct NormalizerTests {
    let normalizer = Normalizer()

    @Test(arguments: [
        ("ＡＢＣ１２３", "abc 123"),
        ("社會保險怎麼辦理", "社会保险怎么办理"),
        ("社保卡，丢了！！怎么办？", "社保卡丢了怎么办"),
        ("🙏 hello 社保😊", "hello 社保"),
        ("公积金　提取", "公积金提取"),
        ("APP里 12345热线", "app 里 12345 热线"),
    ])
    func normalizes(input: String, expected: String) {
        #expect(normalizer.normalize(input).text == expected)
    }

    @Test func traditionalAndSimplifiedGiveTheSameUnits() {
        #expect(normalizer.normalize("駕照過期了").units == normalizer.normalize("驾照过期了").units)
    }

    @Test func homophonesShareSounds() {
        #expect(normalizer.normalize("设保").sounds == normalizer.normalize("社保").sounds)
        #expect(normalizer.normalize("公鸡金").sounds == normalizer.normalize("公积金").sounds)
    }

    @Test func longMessagesAreCut() {
        let n = Normalizer(maxUnits: 10).normalize(String(repeating: "社保", count: 50))
        #expect(n.count == 10)
    }
}
