/// The jinja2 tests (`x is defined`, `n is divisibleby 3`) this engine implements.
enum TemplatePredicates {
    static let names: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "float",
        "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne",
        "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined", "upper",
    ]
}

extension TemplateRenderer {
    func applyTest(_ name: String, to value: TemplateValue, _ args: CallArguments,
                   at location: SourceLocation) throws(TemplateError) -> Bool {
        try budget.enter("test '\(name)'", at: location)
        defer { budget.leave() }
        let other = args.value(0, "value")
        switch name {
        case "defined": if case .undefined = value { return false } else { return true }
        case "undefined": if case .undefined = value { return true } else { return false }
        case "none": if case .none = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "string": if case .string = value { return true } else { return false }
        case "number": return value.numericValue != nil
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "mapping": if case .object = value { return true } else { return false }
        case "callable": if case .callable = value { return true } else { return false }
        case "escaped": return false
        case "iterable", "sequence":
            switch value {
            case .undefined, .string, .array, .object: return true
            default: return false
            }
        case "odd", "even", "divisibleby":
            if case .undefined = value { throw TemplateError.undefined(name: "value", at: location) }
            let divisor: TemplateValue = name == "divisibleby" ? args.value(0, "num") : .int(2)
            let remainder = try PythonOperators.arithmetic("%", value, divisor, budget, at: location)
            let isZero = remainder.numericValue == .int(0)
            return name == "odd" ? !isZero : isZero
        case "eq", "equalto": return try PythonOperators.equals(value, other, budget, at: location)
        case "ne": return try !PythonOperators.equals(value, other, budget, at: location)
        case "lt", "lessthan": return try PythonOperators.compare("<", value, other, budget, at: location)
        case "le": return try PythonOperators.compare("<=", value, other, budget, at: location)
        case "gt", "greaterthan": return try PythonOperators.compare(">", value, other, budget, at: location)
        case "ge": return try PythonOperators.compare(">=", value, other, budget, at: location)
        case "in": return try PythonOperators.contains(args.value(0, "seq"), value, budget, at: location)
        case "lower", "upper":
            let s = try string(value, "test '\(name)'", at: location)
            try budget.chargeBytes(s.utf8.count, "test '\(name)'", at: location)
            var sawCased = false
            for scalar in s.unicodeScalars where scalar.properties.isCased {
                sawCased = true
                if name == "lower" ? !scalar.properties.isLowercase : !scalar.properties.isUppercase { return false }
            }
            return sawCased
        case "sameas":
            switch (value, other) {
            case (.none, .none), (.undefined, .undefined): return true
            case (.bool(let a), .bool(let b)): return a == b
            default: return false
            }
        default:
            throw TemplateError.unsupported(kind: "test", name: name, at: location)
        }
    }
}
