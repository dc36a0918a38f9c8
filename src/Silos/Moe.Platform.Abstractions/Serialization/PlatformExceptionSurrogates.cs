using Orleans;
using Moe.Platform.Runs;

namespace Moe.Platform.Serialization;

// Orleans' generic exception codec only rebuilds System/Microsoft/Azure exceptions (others arrive as
// UnavailableExceptionFallbackException, losing Field/From/To). These converters let callers catch the real types.
// The remote stack trace is not carried; the message and the typed properties are.

[GenerateSerializer, Immutable]
internal readonly record struct PlatformExceptionSurrogate(string Field, string Problem, PlatformErrorKind Kind);

[RegisterConverter]
internal sealed class PlatformExceptionConverter : IConverter<PlatformException, PlatformExceptionSurrogate>
{
    public PlatformException ConvertFromSurrogate(in PlatformExceptionSurrogate surrogate) =>
        new(surrogate.Field, surrogate.Problem, surrogate.Kind);

    public PlatformExceptionSurrogate ConvertToSurrogate(in PlatformException value) => new(value.Field, value.Problem, value.Kind);
}

[GenerateSerializer, Immutable]
internal readonly record struct IllegalTransitionExceptionSurrogate(RunStatus From, RunStatus To, string? Detail);

[RegisterConverter]
internal sealed class IllegalTransitionExceptionConverter
    : IConverter<IllegalTransitionException, IllegalTransitionExceptionSurrogate>
{
    public IllegalTransitionException ConvertFromSurrogate(in IllegalTransitionExceptionSurrogate surrogate) =>
        new(surrogate.From, surrogate.To, surrogate.Detail);

    // The exception keeps only its composed message; the detail is what follows the fixed prefix it is built from.
    public IllegalTransitionExceptionSurrogate ConvertToSurrogate(in IllegalTransitionException value)
    {
        var plain = new IllegalTransitionException(value.From, value.To).Problem;
        var detail = value.Problem.StartsWith(plain + ": ", StringComparison.Ordinal)
            ? value.Problem[(plain.Length + 2)..]
            : null;
        return new(value.From, value.To, detail);
    }
}
