/// The name-based rules llama.cpp applies to special tokens after loading
/// (`llama_vocab::impl::load`): finding end-of-turn and fill-in-the-middle tokens the file does
/// not name, marking them as control tokens, and collecting the end-of-generation set. The token
/// texts below are the ones llama.cpp recognises.
enum SpecialTokenRules {
    /// Texts that identify a role when the file gives no id for it.
    static let roleTexts: [(SpecialTokenRole, Set<String>)] = [
        (.eot, ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]),
        (.eom, ["<|eom_id|>"]),
        (.fimPrefix, ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                      "<|code_prefix|>", "<|prefix|>"]),
        (.fimSuffix, ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                      "<|code_suffix|>", "<|suffix|>"]),
        (.fimMiddle, ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                      "<|code_middle|>", "<|middle|>"]),
        (.fimPad, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
        (.fimRepository, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
        (.fimSeparator, ["<|file_sep|>"]),
    ]

    /// Texts of tokens that end generation whatever their role.
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]

    /// gpt-oss channel markers, always rendered as text (made user-defined).
    static let alwaysRendered: Set<String> = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    /// Fills in role ids found by text, updates attributes, and returns the end-of-generation set:
    /// the fill-in-the-middle pad, repository and separator tokens, every token with an
    /// end-of-generation text, and EOS, EOT and EOM.
    static func resolve(texts: [[UInt8]], attributes: inout [TokenAttributes],
                        ids: inout [SpecialTokenRole: Int32]) -> Set<Int32> {
        // Compared as bytes: Swift's String equality would also match canonically equivalent text.
        func bytes(_ set: Set<String>) -> Set<[UInt8]> { Set(set.map { Array($0.utf8) }) }
        let allIDs = texts.indices
        for (role, names) in roleTexts where ids[role] == nil {
            let wanted = bytes(names)
            if let id = allIDs.first(where: { wanted.contains(texts[$0]) }) {
                ids[role] = Int32(id)
                attributes[id].insert(.control)
            }
        }
        var eog = Set<Int32>()
        for role in [SpecialTokenRole.fimPad, .fimRepository, .fimSeparator] {
            if let id = ids[role] { eog.insert(id) }
        }
        let eogTexts = bytes(endOfGenerationTexts)
        for id in allIDs where eogTexts.contains(texts[id]) {
            eog.insert(Int32(id))
            attributes[id].insert(.control)
        }
        let rendered = bytes(alwaysRendered)
        for id in allIDs where rendered.contains(texts[id]) {
            attributes[id] = .userDefined
        }
        for role in [SpecialTokenRole.eos, .eot, .eom] {
            if let id = ids[role] { eog.insert(id) }
        }
        func eogID(_ text: String) -> Int32? {
            eog.first { Array(text.utf8) == texts[Int($0)] }
        }
        // gpt-oss and solar-open use `<|end|>` between messages, not at the end.
        let hasCall = eogID("<|call|>") != nil || eogID("<|calls|>") != nil
        if let end = eogID("<|end|>"), hasCall, eogID("<|return|>") != nil || eogID("<|flush|>") != nil {
            eog.remove(end)
            attributes[Int(end)] = .userDefined
        }
        // Gemma 4 ends turns with `<|tool_response>`; its `</s>` is ordinary text.
        if eogID("<|tool_response>") != nil, let s = eogID("</s>") {
            eog.remove(s)
            attributes[Int(s)] = .normal
        }
        return eog
    }
}
