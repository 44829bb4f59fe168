// The JSONTestSuite corpus (github.com/nst/JSONTestSuite), written inline: every y_ document
// must parse, every n_ document must be refused with the reason given, and the i_ documents
// (implementation-defined) pin down the choices IntakeJSON makes.
import Testing
import IntakeJSON

/// One document of the corpus and what the parser must say about it (nil: it parses).
struct Doc: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let reason: String?
    var testDescription: String { name }

    init(_ name: String, _ text: String, _ reason: String? = nil) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.reason = reason
    }

    init(_ name: String, bytes: [UInt8], _ reason: String? = nil) {
        self.name = name
        self.bytes = bytes
        self.reason = reason
    }
}

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The reason `bytes` are refused, or nil if they parse.
func refusal(_ bytes: [UInt8], limits: JSONLimits = .init()) -> String? {
    do {
        _ = try JSON.parse(bytes, limits: limits)
        return nil
    } catch {
        return error.reason
    }
}

let acceptedDocs: [Doc] = [
    Doc("y_array_arraysWithSpaces", #"[[]   ]"#),
    Doc("y_array_empty-string", #"[""]"#),
    Doc("y_array_empty", #"[]"#),
    Doc("y_array_ending_with_newline", #"["a"]"#),
    Doc("y_array_false", #"[false]"#),
    Doc("y_array_heterogeneous", #"[null, 1, "1", {}]"#),
    Doc("y_array_null", #"[null]"#),
    Doc("y_array_with_1_and_newline", "[1\n]"),
    Doc("y_array_with_leading_space", #" [1]"#),
    Doc("y_array_with_several_null", #"[1,null,null,null,2]"#),
    Doc("y_array_with_trailing_space", #"[2] "#),
    Doc("y_number", #"[123e65]"#),
    Doc("y_number_0e+1", #"[0e+1]"#),
    Doc("y_number_0e1", #"[0e1]"#),
    Doc("y_number_after_space", #"[ 4]"#),
    Doc("y_number_double_close_to_zero", #"[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]"#),
    Doc("y_number_int_with_exp", #"[20e1]"#),
    Doc("y_number_minus_zero", #"[-0]"#),
    Doc("y_number_negative_int", #"[-123]"#),
    Doc("y_number_negative_one", #"[-1]"#),
    Doc("y_number_real_capital_e", #"[1E22]"#),
    Doc("y_number_real_capital_e_neg_exp", #"[1E-2]"#),
    Doc("y_number_real_capital_e_pos_exp", #"[1E+2]"#),
    Doc("y_number_real_exponent", #"[123e45]"#),
    Doc("y_number_real_fraction_exponent", #"[123.456e78]"#),
    Doc("y_number_real_neg_exp", #"[1e-2]"#),
    Doc("y_number_real_pos_exponent", #"[1e+2]"#),
    Doc("y_number_simple_int", #"[123]"#),
    Doc("y_number_simple_real", #"[123.456789]"#),
    Doc("y_object", #"{"asd":"sdf", "dfg":"fgh"}"#),
    Doc("y_object_basic", #"{"asd":"sdf"}"#),
    Doc("y_object_same_key_in_different_objects", #"[{"a":"b"},{"a":"b"}]"#),
    Doc("y_object_empty", #"{}"#),
    Doc("y_object_empty_key", #"{"":0}"#),
    Doc("y_object_escaped_null_in_key", #"{"foo\u0000bar": 42}"#),
    Doc("y_object_extreme_numbers", #"{ "min": -1.0e+28, "max": 1.0e+28 }"#),
    Doc("y_object_long_strings", #"{"x":[{"id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}], "id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#),
    Doc("y_object_simple", #"{"a":[]}"#),
    Doc("y_object_string_unicode", #"{"title":"\u041f\u043e\u043b\u0442\u043e\u0440\u0430 \u0417\u0435\u043c\u043b\u0435\u043a\u043e\u043f\u0430" }"#),
    Doc("y_object_with_newlines", "{\n\"a\": \"b\"\n}"),
    Doc("y_string_1_2_3_bytes_UTF-8_sequences", #"["\u0060\u012a\u12AB"]"#),
    Doc("y_string_accepted_surrogate_pair", #"["\uD801\udc37"]"#),
    Doc("y_string_accepted_surrogate_pairs", #"["\ud83d\ude39\ud83d\udc8d"]"#),
    Doc("y_string_allowed_escapes", #"["\"\\\/\b\f\n\r\t"]"#),
    Doc("y_string_backslash_and_u_escaped_zero", #"["\\u0000"]"#),
    Doc("y_string_backslash_doublequotes", #"["\""]"#),
    Doc("y_string_comments", #"["a/*b*/c/*d//e"]"#),
    Doc("y_string_double_escape_a", #"["\\a"]"#),
    Doc("y_string_double_escape_n", #"["\\n"]"#),
    Doc("y_string_escaped_control_character", #"["\u0012"]"#),
    Doc("y_string_escaped_noncharacter", #"["\uFFFF"]"#),
    Doc("y_string_in_array", #"["asd"]"#),
    Doc("y_string_in_array_with_leading_space", #"[ "asd"]"#),
    Doc("y_string_last_surrogates_1_and_2", #"["\uDBFF\uDFFF"]"#),
    Doc("y_string_nbsp_uescaped", #"["new\u00A0line"]"#),
    Doc("y_string_nonCharacterInUTF-8_U+10FFFF", bytes: utf8("[\"") + [0xF4, 0x8F, 0xBF, 0xBF] + utf8("\"]")),
    Doc("y_string_nonCharacterInUTF-8_U+FFFF", bytes: utf8("[\"") + [0xEF, 0xBF, 0xBF] + utf8("\"]")),
    Doc("y_string_null_escape", #"["\u0000"]"#),
    Doc("y_string_one-byte-utf-8", #"["\u002c"]"#),
    Doc("y_string_pi", #"["π"]"#),
    Doc("y_string_reservedCharacterInUTF-8_U+1BFFF", bytes: utf8("[\"") + [0xF0, 0x9B, 0xBF, 0xBF] + utf8("\"]")),
    Doc("y_string_simple_ascii", #"["asd "]"#),
    Doc("y_string_space", #"" ""#),
    Doc("y_string_surrogates_U+1D11E_MUSICAL_SYMBOL_G_CLEF", #"["\uD834\uDd1e"]"#),
    Doc("y_string_three-byte-utf-8", #"["\u0821"]"#),
    Doc("y_string_two-byte-utf-8", #"["\u0123"]"#),
    Doc("y_string_u+2028_line_sep", "[\"\u{2028}\"]"),
    Doc("y_string_u+2029_par_sep", "[\"\u{2029}\"]"),
    Doc("y_string_uEscape", #"["\u0061\u30af\u30EA\u30b9"]"#),
    Doc("y_string_uescaped_newline", #"["new\u000Aline"]"#),
    Doc("y_string_unescaped_char_delete", "[\"\u{7F}\"]"),
    Doc("y_string_unicode", #"["\uA66D"]"#),
    Doc("y_string_unicodeEscapedBackslash", #"["\u005C"]"#),
    Doc("y_string_unicode_2", #"["⍂㈴⍂"]"#),
    Doc("y_string_unicode_U+10FFFE_nonchar", #"["\uDBFF\uDFFE"]"#),
    Doc("y_string_unicode_U+1FFFE_nonchar", #"["\uD83F\uDFFE"]"#),
    Doc("y_string_unicode_U+200B_ZERO_WIDTH_SPACE", #"["\u200B"]"#),
    Doc("y_string_unicode_U+2064_invisible_plus", #"["\u2064"]"#),
    Doc("y_string_unicode_U+FDD0_nonchar", #"["\uFDD0"]"#),
    Doc("y_string_unicode_U+FFFE_nonchar", #"["\uFFFE"]"#),
    Doc("y_string_unicode_escaped_double_quote", #"["\u0022"]"#),
    Doc("y_string_utf8", #"["€𝄞"]"#),
    Doc("y_string_with_del_character", "[\"a\u{7F}a\"]"),
    Doc("y_structure_lonely_false", #"false"#),
    Doc("y_structure_lonely_int", #"42"#),
    Doc("y_structure_lonely_negative_real", #"-0.1"#),
    Doc("y_structure_lonely_null", #"null"#),
    Doc("y_structure_lonely_string", #""asd""#),
    Doc("y_structure_lonely_true", #"true"#),
    Doc("y_structure_string_empty", #""""#),
    Doc("y_structure_trailing_newline", "[\"a\"]\n"),
    Doc("y_structure_true_in_array", #"[true]"#),
    Doc("y_structure_whitespace_array", " [] "),
    Doc("whitespace: tab, CR, LF around and inside", "\t\r\n[\t1\r,\n2 ]\r\n"),
]

let refusedDocs: [Doc] = [
    Doc("n_array_1_true_without_comma", #"[1 true]"#, "unexpected character"),
    Doc("n_array_a_invalid_utf8", bytes: utf8("[a") + [0xE5] + utf8("]"), "unexpected character"),
    Doc("n_array_colon_instead_of_comma", #"["": 1]"#, "unexpected character"),
    Doc("n_array_comma_after_close", #"[""],"#, "trailing data"),
    Doc("n_array_comma_and_number", #"[,1]"#, "unexpected character"),
    Doc("n_array_double_comma", #"[1,,2]"#, "unexpected character"),
    Doc("n_array_double_extra_comma", #"["x",,]"#, "unexpected character"),
    Doc("n_array_extra_close", #"["x"]]"#, "trailing data"),
    Doc("n_array_extra_comma", #"["",]"#, "trailing comma"),
    Doc("n_array_incomplete", #"["x""#, "unexpected end of input"),
    Doc("n_array_incomplete_invalid_value", #"[x"#, "unexpected character"),
    Doc("n_array_inner_array_no_comma", #"[3[4]]"#, "unexpected character"),
    Doc("n_array_invalid_utf8", bytes: utf8("[") + [0xFF] + utf8("]"), "invalid UTF-8"),
    Doc("n_array_items_separated_by_semicolon", #"[1:2]"#, "unexpected character"),
    Doc("n_array_just_comma", #"[,]"#, "unexpected character"),
    Doc("n_array_just_minus", #"[-]"#, "invalid number"),
    Doc("n_array_missing_value", #"[   , ""]"#, "unexpected character"),
    Doc("n_array_newlines_unclosed", "[\"a\",\n4\n,1,", "unexpected end of input"),
    Doc("n_array_number_and_comma", #"[1,]"#, "trailing comma"),
    Doc("n_array_number_and_several_commas", #"[1,,]"#, "unexpected character"),
    Doc("n_array_spaces_vertical_tab_formfeed", "[\"\u{0B}a\"\\f]", "control character in string"),
    Doc("n_array_star_inside", #"[*]"#, "unexpected character"),
    Doc("n_array_unclosed", #"["""#, "unexpected end of input"),
    Doc("n_array_unclosed_trailing_comma", #"[1,"#, "unexpected end of input"),
    Doc("n_array_unclosed_with_new_lines", "[1,\n1\n,1", "unexpected end of input"),
    Doc("n_array_unclosed_with_object_inside", #"[{}"#, "unexpected end of input"),
    Doc("n_incomplete_false", #"[fals]"#, "unexpected character"),
    Doc("n_incomplete_null", #"[nul]"#, "unexpected character"),
    Doc("n_incomplete_true", #"[tru]"#, "unexpected character"),
    Doc("n_number_++", #"[++1234]"#, "invalid number"),
    Doc("n_number_+1", #"[+1]"#, "invalid number"),
    Doc("n_number_+Inf", #"[+Inf]"#, "invalid number"),
    Doc("n_number_-01", #"[-01]"#, "invalid number"),
    Doc("n_number_-1.0.", #"[-1.0.]"#, "unexpected character"),
    Doc("n_number_-2.", #"[-2.]"#, "invalid number"),
    Doc("n_number_-NaN", #"[-NaN]"#, "invalid number"),
    Doc("n_number_.-1", #"[.-1]"#, "invalid number"),
    Doc("n_number_.2e-3", #"[.2e-3]"#, "invalid number"),
    Doc("n_number_0.1.2", #"[0.1.2]"#, "unexpected character"),
    Doc("n_number_0.3e+", #"[0.3e+]"#, "invalid number"),
    Doc("n_number_0.3e", #"[0.3e]"#, "invalid number"),
    Doc("n_number_0.e1", #"[0.e1]"#, "invalid number"),
    Doc("n_number_0_capital_E+", #"[0E+]"#, "invalid number"),
    Doc("n_number_0_capital_E", #"[0E]"#, "invalid number"),
    Doc("n_number_0e+", #"[0e+]"#, "invalid number"),
    Doc("n_number_0e", #"[0e]"#, "invalid number"),
    Doc("n_number_1.0e+", #"[1.0e+]"#, "invalid number"),
    Doc("n_number_1.0e-", #"[1.0e-]"#, "invalid number"),
    Doc("n_number_1.0e", #"[1.0e]"#, "invalid number"),
    Doc("n_number_1_000", #"[1 000.0]"#, "unexpected character"),
    Doc("n_number_1eE2", #"[1eE2]"#, "invalid number"),
    Doc("n_number_2.e+3", #"[2.e+3]"#, "invalid number"),
    Doc("n_number_2.e-3", #"[2.e-3]"#, "invalid number"),
    Doc("n_number_2.e3", #"[2.e3]"#, "invalid number"),
    Doc("n_number_9.e+", #"[9.e+]"#, "invalid number"),
    Doc("n_number_Inf", #"[Inf]"#, "unexpected character"),
    Doc("n_number_NaN", #"[NaN]"#, "unexpected character"),
    Doc("n_number_U+FF11_fullwidth_digit_one", #"[１]"#, "unexpected character"),
    Doc("n_number_expression", #"[1+2]"#, "unexpected character"),
    Doc("n_number_hex_1_digit", #"[0x1]"#, "unexpected character"),
    Doc("n_number_hex_2_digits", #"[0x42]"#, "unexpected character"),
    Doc("n_number_infinity", #"[Infinity]"#, "unexpected character"),
    Doc("n_number_invalid+-", #"[0e+-1]"#, "invalid number"),
    Doc("n_number_invalid-negative-real", #"[-123.123foo]"#, "unexpected character"),
    Doc("n_number_minus_infinity", #"[-Infinity]"#, "invalid number"),
    Doc("n_number_minus_sign_with_trailing_garbage", #"[-foo]"#, "invalid number"),
    Doc("n_number_minus_space_1", #"[- 1]"#, "invalid number"),
    Doc("n_number_neg_int_starting_with_zero", #"[-012]"#, "invalid number"),
    Doc("n_number_neg_real_without_int_part", #"[-.123]"#, "invalid number"),
    Doc("n_number_neg_with_garbage_at_end", #"[-1x]"#, "unexpected character"),
    Doc("n_number_real_garbage_after_e", #"[1ea]"#, "invalid number"),
    Doc("n_number_real_without_fractional_part", #"[1.]"#, "invalid number"),
    Doc("n_number_starting_with_dot", #"[.123]"#, "invalid number"),
    Doc("n_number_with_alpha", #"[1.2a-3]"#, "unexpected character"),
    Doc("n_number_with_leading_zero", #"[012]"#, "invalid number"),
    Doc("n_object_bad_value", #"["x", truth]"#, "unexpected character"),
    Doc("n_object_bracket_key", #"{[: "x"}"#, "unexpected character"),
    Doc("n_object_comma_instead_of_colon", #"{"x", null}"#, "unexpected character"),
    Doc("n_object_double_colon", #"{"x"::"b"}"#, "unexpected character"),
    Doc("n_object_emoji", #"{🇨🇭}"#, "unexpected character"),
    Doc("n_object_garbage_at_end", #"{"a":"a" 123}"#, "unexpected character"),
    Doc("n_object_key_with_single_quotes", #"{key: 'value'}"#, "unexpected character"),
    Doc("n_object_missing_colon", #"{"a" b}"#, "unexpected character"),
    Doc("n_object_missing_key", #"{:"b"}"#, "unexpected character"),
    Doc("n_object_missing_semicolon", #"{"a" "b"}"#, "unexpected character"),
    Doc("n_object_missing_value", #"{"a":"#, "unexpected end of input"),
    Doc("n_object_no-colon", #"{"a""#, "unexpected end of input"),
    Doc("n_object_non_string_key", #"{1:1}"#, "unexpected character"),
    Doc("n_object_repeated_null_null", #"{null:null,null:null}"#, "unexpected character"),
    Doc("n_object_several_trailing_commas", #"{"id":0,,,,,}"#, "unexpected character"),
    Doc("n_object_single_quote", #"{'a':0}"#, "unexpected character"),
    Doc("n_object_trailing_comma", #"{"id":0,}"#, "trailing comma"),
    Doc("n_object_trailing_comment", #"{"a":"b"}/**/"#, "trailing data"),
    Doc("n_object_two_commas_in_a_row", #"{"a":"b",,"c":"d"}"#, "unexpected character"),
    Doc("n_object_unquoted_key", #"{a: "b"}"#, "unexpected character"),
    Doc("n_object_unterminated-value", #"{"a":"a"#, "unterminated string"),
    Doc("n_object_with_single_string", #"{ "foo" : "bar", "a" }"#, "unexpected character"),
    Doc("n_object_with_trailing_garbage", #"{"a":"b"}#"#, "trailing data"),
    Doc("n_single_space", " ", "empty input"),
    Doc("n_string_1_surrogate_then_escape", #"["\uD800\"]"#, "lone surrogate"),
    Doc("n_string_1_surrogate_then_escape_u", #"["\uD800\u"]"#, "invalid escape"),
    Doc("n_string_1_surrogate_then_escape_u1", #"["\uD800\u1"]"#, "invalid escape"),
    Doc("n_string_1_surrogate_then_escape_u1x", #"["\uD800\u1x"]"#, "invalid escape"),
    Doc("n_string_accentuated_char_no_quotes", #"[é]"#, "unexpected character"),
    Doc("n_string_backslash_00", bytes: utf8("[\"\\") + [0x00] + utf8("\"]"), "invalid escape"),
    Doc("n_string_escape_x", #"["\x00"]"#, "invalid escape"),
    Doc("n_string_escaped_backslash_bad", #"["\\\"]"#, "unterminated string"),
    Doc("n_string_escaped_ctrl_char_tab", "[\"\\\t\"]", "invalid escape"),
    Doc("n_string_escaped_emoji", #"["\🌀"]"#, "invalid escape"),
    Doc("n_string_incomplete_escape", #"["\"]"#, "unterminated string"),
    Doc("n_string_incomplete_escaped_character", #"["\u00A"]"#, "invalid escape"),
    Doc("n_string_incomplete_surrogate", #"["\uD834\uDd"]"#, "invalid escape"),
    Doc("n_string_incomplete_surrogate_escape_invalid", #"["\uD800\uD800\x"]"#, "lone surrogate"),
    Doc("n_string_invalid-utf-8-in-escape", bytes: utf8("[\"\\u") + [0xE5] + utf8("\"]"), "invalid escape"),
    Doc("n_string_invalid_backslash_esc", #"["\a"]"#, "invalid escape"),
    Doc("n_string_invalid_unicode_escape", #"["\uqqqq"]"#, "invalid escape"),
    Doc("n_string_invalid_utf8_after_escape", bytes: utf8("[\"\\") + [0xE5] + utf8("\"]"), "invalid escape"),
    Doc("n_string_leading_uescaped_thinspace", #"[\u0020"asd"]"#, "unexpected character"),
    Doc("n_string_no_quotes_with_bad_escape", #"[\n]"#, "unexpected character"),
    Doc("n_string_single_doublequote", #"""#, "unterminated string"),
    Doc("n_string_single_quote", #"['single quote']"#, "unexpected character"),
    Doc("n_string_single_string_no_double_quotes", #"abc"#, "unexpected character"),
    Doc("n_string_start_escape_unclosed", #"["\"#, "unterminated string"),
    Doc("n_string_unescaped_ctrl_char", bytes: utf8("[\"a") + [0x00] + utf8("a\"]"), "control character in string"),
    Doc("n_string_unescaped_newline", "[\"new\nline\"]", "control character in string"),
    Doc("n_string_unescaped_tab", "[\"\t\"]", "control character in string"),
    Doc("n_string_unicode_CapitalU", #""\UA66D""#, "invalid escape"),
    Doc("n_string_with_trailing_garbage", #"""x"#, "trailing data"),
    Doc("n_structure_100000_opening_arrays", String(repeating: "[", count: 100_000), "too deep"),
    Doc("n_structure_angle_bracket_.", #"<.>"#, "unexpected character"),
    Doc("n_structure_angle_bracket_null", #"[<null>]"#, "unexpected character"),
    Doc("n_structure_array_trailing_garbage", #"[1]x"#, "trailing data"),
    Doc("n_structure_array_with_extra_array_close", #"[1]]"#, "trailing data"),
    Doc("n_structure_array_with_unclosed_string", #"["asd]"#, "unterminated string"),
    Doc("n_structure_ascii-unicode-identifier", #"aå"#, "unexpected character"),
    Doc("n_structure_capitalized_True", #"[True]"#, "unexpected character"),
    Doc("n_structure_close_unopened_array", #"1]"#, "trailing data"),
    Doc("n_structure_comma_instead_of_closing_brace", #"{"x": true,"#, "unexpected end of input"),
    Doc("n_structure_double_array", #"[][]"#, "trailing data"),
    Doc("n_structure_end_array", #"]"#, "unexpected character"),
    Doc("n_structure_incomplete_UTF8_BOM", bytes: [0xEF, 0xBB] + utf8("{}"), "invalid UTF-8"),
    Doc("n_structure_lone-invalid-utf-8", bytes: [0xE5], "invalid UTF-8"),
    Doc("n_structure_lone-open-bracket", #"["#, "unexpected end of input"),
    Doc("n_structure_no_data", "", "empty input"),
    Doc("n_structure_null-byte-outside-string", bytes: utf8("[") + [0x00] + utf8("]"), "unexpected character"),
    Doc("n_structure_number_with_trailing_garbage", #"2@"#, "trailing data"),
    Doc("n_structure_object_followed_by_closing_object", #"{}}"#, "trailing data"),
    Doc("n_structure_object_unclosed_no_value", #"{"":"#, "unexpected end of input"),
    Doc("n_structure_object_with_comment", #"{"a":/*comment*/"b"}"#, "unexpected character"),
    Doc("n_structure_object_with_trailing_garbage", #"{"a": true} "x""#, "trailing data"),
    Doc("n_structure_open_array_apostrophe", #"['"#, "unexpected character"),
    Doc("n_structure_open_array_comma", #"[,"#, "unexpected character"),
    Doc("n_structure_open_array_open_object", #"[{"#, "unexpected end of input"),
    Doc("n_structure_open_array_open_string", #"["a"#, "unterminated string"),
    Doc("n_structure_open_array_string", #"["a""#, "unexpected end of input"),
    Doc("n_structure_open_object", #"{"#, "unexpected end of input"),
    Doc("n_structure_open_object_close_array", #"{]"#, "unexpected character"),
    Doc("n_structure_open_object_comma", #"{,"#, "unexpected character"),
    Doc("n_structure_open_object_open_array", #"{["#, "unexpected character"),
    Doc("n_structure_open_object_open_string", #"{"a"#, "unterminated string"),
    Doc("n_structure_open_object_string_with_apostrophes", #"{'a'"#, "unexpected character"),
    Doc("n_structure_open_open", #"["\{["\{["\{["\{"#, "invalid escape"),
    Doc("n_structure_single_star", #"*"#, "unexpected character"),
    Doc("n_structure_trailing_#", #"{"a":"b"}#{}"#, "trailing data"),
    Doc("n_structure_U+2060_word_joined", "[\u{2060}]", "unexpected character"),
    Doc("n_structure_uescaped_LF_before_string", #"[\u000A""]"#, "unexpected character"),
    Doc("n_structure_unclosed_array", #"[1"#, "unexpected end of input"),
    Doc("n_structure_unclosed_array_partial_null", #"[ false, nul"#, "unexpected end of input"),
    Doc("n_structure_unclosed_array_unfinished_false", #"[ true, fals"#, "unexpected end of input"),
    Doc("n_structure_unclosed_array_unfinished_true", #"[ false, tru"#, "unexpected end of input"),
    Doc("n_structure_unclosed_object", #"{"asd":"asd""#, "unexpected end of input"),
    Doc("n_structure_unicode-identifier", #"å"#, "unexpected character"),
    Doc("n_structure_whitespace_formfeed", "[\u{0C}]", "unexpected character"),
    Doc("n_structure_UTF8_BOM_no_data", bytes: [0xEF, 0xBB, 0xBF], "unexpected character"),
]

/// The implementation-defined cases and the choice made for each.
let implementationDefinedDocs: [Doc] = [
    Doc("i_object_duplicated_key (refused)", #"{"a":"b","a":"c"}"#, "duplicate key"),
    Doc("i_object_duplicated_key_and_value (refused)", #"{"a":"b","a":"b"}"#, "duplicate key"),
    Doc("i_string_1st_surrogate_but_2nd_missing", #"["\uDADA"]"#, "lone surrogate"),
    Doc("i_string_1st_valid_surrogate_2nd_invalid", #"["\uD888\u1234"]"#, "lone surrogate"),
    Doc("i_string_incomplete_surrogate_and_escape_valid", #"["\uD800\n"]"#, "lone surrogate"),
    Doc("i_string_incomplete_surrogates_escape_valid", #"["\uD800\uD800\n"]"#, "lone surrogate"),
    Doc("i_string_inverted_surrogates_U+1D11E", #"["\uDd1e\uD834"]"#, "lone surrogate"),
    Doc("i_string_lone_second_surrogate", #"["\uDFAA"]"#, "lone surrogate"),
    Doc("i_string_invalid_lonely_surrogate", #"["\ud800"]"#, "lone surrogate"),
    Doc("i_string_invalid_surrogate", #"["\ud800abc"]"#, "lone surrogate"),
    Doc("i_string_invalid_utf-8", bytes: utf8("[\"") + [0xFF] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_iso_latin_1", bytes: utf8("[\"") + [0xE9] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_lone_utf8_continuation_byte", bytes: utf8("[\"") + [0x81] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_not_in_unicode_range", bytes: utf8("[\"") + [0xF4, 0xBF, 0xBF, 0xBF] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_overlong_sequence_2_bytes", bytes: utf8("[\"") + [0xC0, 0xAF] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_overlong_sequence_3_bytes", bytes: utf8("[\"") + [0xE0, 0x80, 0xAF] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_overlong_sequence_6_bytes", bytes: utf8("[\"") + [0xFC, 0x83, 0xBF, 0xBF, 0xBF, 0xBF] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_overlong_sequence_6_bytes_null", bytes: utf8("[\"") + [0xFC, 0x80, 0x80, 0x80, 0x80, 0x80] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_truncated-utf-8", bytes: utf8("[\"") + [0xE0, 0xFF] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_UTF-8_invalid_sequence", bytes: utf8("[\"") + [0xE6, 0x97, 0xA5, 0xD1, 0x88, 0xFA] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_UTF8_surrogate_U+D800", bytes: utf8("[\"") + [0xED, 0xA0, 0x80] + utf8("\"]"), "invalid UTF-8"),
    Doc("i_string_UTF-16LE_with_BOM", bytes: [0xFF, 0xFE, 0x5B, 0x00, 0x22, 0x00, 0xE9, 0x00, 0x22, 0x00, 0x5D, 0x00], "invalid UTF-8"),
    Doc("i_string_utf16BE_no_BOM", bytes: [0x00, 0x5B, 0x00, 0x22, 0x00, 0xE9, 0x00, 0x22, 0x00, 0x5D], "unexpected character"),
    Doc("i_structure_UTF-8_BOM_empty_object", bytes: [0xEF, 0xBB, 0xBF] + utf8("{}"), "unexpected character"),
    Doc("i_structure_500_nested_arrays", String(repeating: "[", count: 500) + String(repeating: "]", count: 500), "too deep"),
    Doc("i_number_huge_exp", "[0.4e00669999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999969999999006]", "number out of range"),
    Doc("i_number_neg_int_huge_exp", #"[-1e+9999]"#, "number out of range"),
    Doc("i_number_pos_double_huge_exp", #"[1.5e+9999]"#, "number out of range"),
    Doc("i_number_real_neg_overflow", #"[-123123e100000]"#, "number out of range"),
    Doc("i_number_real_pos_overflow", #"[123123e100000]"#, "number out of range"),
    Doc("i_number_double_huge_neg_exp", #"[123.456e-789]"#),
    Doc("i_number_real_underflow", #"[123e-10000000]"#),
    Doc("i_number_too_big_neg_int", #"[-123123123123123123123123123123]"#),
    Doc("i_number_too_big_pos_int", #"[100000000000000000000]"#),
    Doc("i_number_very_big_negative_int", #"[-237462374673276894279832749832423479823246327846]"#),
]

@Suite(.timeLimit(.minutes(5)))
struct JSONTestSuiteTests {
    @Test(arguments: acceptedDocs)
    func accepts(_ doc: Doc) {
        #expect(refusal(doc.bytes) == nil)
    }

    @Test(arguments: refusedDocs)
    func refuses(_ doc: Doc) {
        #expect(refusal(doc.bytes) == doc.reason)
    }

    @Test(arguments: implementationDefinedDocs)
    func implementationDefined(_ doc: Doc) {
        #expect(refusal(doc.bytes) == doc.reason)
    }

    @Test func acceptedValues() throws {
        #expect(try JSON.parse(#"[null, 1, "1", {}]"#) == .array([.null, .int(1), .string("1"), .object([])]))
        #expect(try JSON.parse(#"["\"\\\/\b\f\n\r\t"]"#) == ["\"\\/\u{08}\u{0C}\n\r\t"])
        #expect(try JSON.parse(#"["\u0060\u012a\u12AB"]"#) == ["\u{60}\u{12A}\u{12AB}"])
        #expect(try JSON.parse(#"["\uD834\uDd1e"]"#) == ["𝄞"])
        #expect(try JSON.parse(#"["\uDBFF\uDFFF"]"#) == ["\u{10FFFF}"])
        #expect(try JSON.parse(#"{"foo\u0000bar": 42}"#) == ["foo\u{0}bar": 42])
        #expect(try JSON.parse(#"["\\u0000"]"#) == [#"\u0000"#])
        #expect(try JSON.parse(#"-0.1"#) == .double(-0.1))
        #expect(try JSON.parse(#"[123.456e-789]"#) == [0.0])
        #expect(try JSON.parse(#"[-123123123123123123123123123123]"#) == [.double(-123123123123123123123123123123.0)])
        #expect(try JSON.parse(#"[1E22]"#) == [.double(1e22)])
        #expect(try JSON.parse(#"[20e1]"#) == [.double(200)])
    }
}
