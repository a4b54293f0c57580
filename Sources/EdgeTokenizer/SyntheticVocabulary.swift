/// A working byte-level BPE vocabulary of any size from 258 tokens up, for model files whose
/// weights are made up (``TokenizerVocabulary`` values, ready to be written as GGUF metadata).
///
/// Layout by id:
/// - `0..<256`: the 256 byte tokens, in byte order, spelled in ``ByteLevelAlphabet`` characters,
///   so every UTF-8 text can be encoded and decodes back to itself;
/// - then the tokens of the merges learned from ``trainingText`` (a few hundred English words
///   and pieces of words), in merge order;
/// - then filler tokens up to the size: a space and an invented word of two or more syllables
///   (` bako`, ` tirumo`), normal tokens that no merge produces (so they never come out of
///   encoding) but that read as words when a model generates them;
/// - last, `<|begin_of_text|>` (BOS) and `<|end_of_text|>` (EOS), control tokens.
///
/// Text round-trips (`detokenize(encode(text)) == text`) with a pre-tokenizer that keeps spaces
/// when detokenizing, such as `qwen2` or `smollm`; those that clean spaces (`llama-bpe`) remove the
/// space before `?!.,` as llama.cpp does.
public enum SyntheticVocabulary {
    /// The beginning-of-sequence token's text.
    public static let bosText = "<|begin_of_text|>"
    /// The end-of-sequence token's text.
    public static let eosText = "<|end_of_text|>"
    /// The fewest tokens a synthetic vocabulary can have: 256 bytes and the two special tokens.
    public static let minimumSize = 258
    /// Most merges learned from ``trainingText``. Merging goes on until every word of the text is
    /// one token (about 500 merges), or until the size leaves no more room.
    public static let maximumMerges = 2000

    /// GGUF token types (llama.cpp `llama_token_type`).
    private static let normalType: Int32 = 1
    private static let controlType: Int32 = 3

    /// Builds the vocabulary.
    /// - Parameters:
    ///   - size: tokens in all (at least ``minimumSize``).
    ///   - preTokenizer: the `tokenizer.ggml.pre` name the merges are learned with and written under.
    ///   - addBOS: the `tokenizer.ggml.add_bos_token` flag.
    public static func make(size: Int, preTokenizer: String, addBOS: Bool) throws(TokenizerError) -> TokenizerVocabulary {
        guard size >= minimumSize else { throw .vocabularyTooSmall(requested: size, minimum: minimumSize) }
        guard let pre = PreTokenizer.named(preTokenizer) else {
            throw .unknownPreTokenizer(preTokenizer, key: TokenizerVocabulary.Key.preTokenizer,
                                       supported: PreTokenizer.supportedNames)
        }
        var tokens = ByteLevelAlphabet.utf8.map { String(decoding: $0, as: UTF8.self) }
        var known = Set(tokens)
        let room = size - minimumSize
        var trainer = BytePairTrainer(text: trainingText, preTokenizer: pre)
        var merges: [String] = []
        for (left, right) in trainer.learn(limit: min(room, maximumMerges), minimumCount: 1) {
            let l = String(decoding: left, as: UTF8.self)
            let r = String(decoding: right, as: UTF8.self)
            merges.append(l + " " + r)
            // Two merges can spell the same string; the token appears once.
            if known.insert(l + r).inserted { tokens.append(l + r) }
        }
        let space = String(decoding: ByteLevelAlphabet.utf8[0x20], as: UTF8.self)
        var n = 0
        while tokens.count < size - 2 {
            let filler = space + inventedWord(n)
            n += 1
            if known.insert(filler).inserted { tokens.append(filler) }
        }
        tokens += [bosText, eosText]
        var types = [Int32](repeating: normalType, count: size)
        types[size - 2] = controlType
        types[size - 1] = controlType
        return TokenizerVocabulary(
            model: TokenizerModel.bytePairEncoding.rawValue, preTokenizer: preTokenizer, tokens: tokens,
            tokenTypes: types, merges: merges, specialTokenIDs: [.bos: size - 2, .eos: size - 1],
            addBOS: addBOS, addEOS: false, addSpacePrefix: false)
    }

    /// Syllables of the invented words: 18 consonants times 5 vowels.
    private static let syllables: [String] = {
        let consonants = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z"]
        return consonants.flatMap { c in ["a", "e", "i", "o", "u"].map { c + $0 } }
    }()

    /// The n-th invented word: all two-syllable words first, then three, and so on, each a
    /// different string.
    private static func inventedWord(_ index: Int) -> String {
        var n = index
        var length = 2
        var count = syllables.count * syllables.count
        while n >= count {
            n -= count
            length += 1
            count *= syllables.count
        }
        var word = ""
        for _ in 0..<length {
            word += syllables[n % syllables.count]
            n /= syllables.count
        }
        return word
    }

    /// The text the merges are learned from (written for this purpose; plain English prose with
    /// some numbers and punctuation, so common words and pieces of words become tokens).
    static let trainingText = """
    The weights of a large model do not have to fit in memory at once. A runtime can read the \
    blocks of the model one after another from the disk, use each block while it is in memory, and \
    then let it go again. This is called streaming, and it is how a small computer can still run a \
    model that is much larger than its memory. The price is time: every token needs every block, so \
    the whole file is read once for each token, and the speed of the disk sets the speed of the model.

    To measure this well, we need files of many sizes. Some have one billion parameters, some have \
    seven, and some have seventy. A file of seven billion parameters at eight bits each is about \
    seven gigabytes; at four bits, about half of that. When the numbers are random the text will \
    make no sense, but the work is the same work, and the time it takes is the time we want to know.

    Once upon a time there was a little house by the river. In the morning the sun came over the \
    hills, and the people in the house would open the windows and look at the water. They were \
    happy, and they worked in the garden, where they grew apples, beans, and flowers of every color. \
    In the evening they sat together and told stories about the old days, about the long winter and \
    the summer when the river was dry. "What will we do tomorrow?" asked the youngest child. "We will \
    do what we always do," said her mother, "and it will be a good day."

    Numbers are part of text too: 1, 2, 3, 10, 42, 100, 2024, 3.14, and 1,000,000. Dates such as \
    12 May 1999 and times such as 08:30 should also work. So should questions, answers, lists \
    (first, second, third), and the small words that hold a sentence together: the, of, and, to, \
    in, is, was, for, on, with, as, at, by, from, that, this, which, there, their, they, were, been, \
    have, has, had, not, but, what, when, where, who, why, how, all, any, each, more, most, other, \
    some, such, only, own, same, than, too, very, can, will, just, should, now.

    People write to each other about their work, their families, their plans, and the weather. \
    They say thank you and you're welcome; they say it's late, and they'll come back. A good system \
    handles all of it, and the tokenizer is where it starts: the text is cut into words, the words \
    into pieces, and every piece becomes a number that the model understands.
    """
}
