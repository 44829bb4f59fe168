// Masking of phone and ID-card numbers in logs and exports: each form the hotline sees, and
// numbers that must be left alone (ids, timestamps, amounts, dates).
import Testing
@testable import IntakeTelemetry

@Suite(.timeLimit(.minutes(5))) struct PersonalDataTests {
    @Test(arguments: [
        ("我的电话13812341234", "我的电话138****1234"),
        ("call +8613812341234 now", "call +86138****1234 now"),
        ("8613912345678", "86139****5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("138-1234-5678", "138-****-5678"),
        ("13812341234和13900001111", "138****1234和139****1111"),
        ("13812341234 13900001111", "138****1234 139****1111"),
        ("身份证110101199003071234", "身份证110101********1234"),
        ("11010119900307123X", "110101********123X"),
        ("旧证110101900307123", "旧证110101******123"),
        ("座机021-88886666", "座机021-****6666"),
        ("座机0755-1234567", "座机0755-***4567"),
        ("02188886666", "021****6666"),
        ("{\"citizen\":\"13812341234\",\"text\":\"ok\"}", "{\"citizen\":\"138****1234\",\"text\":\"ok\"}"),
    ])
    func masks(_ input: String, _ expected: String) {
        #expect(PersonalData.mask(input) == expected)
    }

    @Test(arguments: [
        "receivedAt 1763789123456 ms",          // 13-digit timestamp
        "m01kbx5n1wq0000",                      // an id
        "金额 1234567 元",                        // 7 digits, no pattern
        "2026-11-22 10:30:00",                   // a date
        "12812341234",                           // 11 digits but not a mobile prefix (12x)
        "1381234123",                            // 10 digits
        "138123412345",                          // 12 digits
        "订单 1234567890123456789",               // 19 digits
        "short 123",
    ])
    func leavesOtherNumbersAlone(_ input: String) {
        #expect(PersonalData.mask(input) == input)
    }

    @Test func masksInPlaceAndSaysWhetherItChanged() {
        var bytes = Array("tel 13812341234".utf8)
        #expect(PersonalData.mask(&bytes))
        #expect(String(decoding: bytes, as: UTF8.self) == "tel 138****1234")
        var none = Array("nothing here".utf8)
        #expect(!PersonalData.mask(&none))
    }
}
