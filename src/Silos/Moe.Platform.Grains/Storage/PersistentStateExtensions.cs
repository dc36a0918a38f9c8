using System.Runtime.ExceptionServices;

namespace Moe.Platform.Grains.Storage;

public static class PersistentStateExtensions
{
    /// <summary>
    /// Sets and writes a new state; when the write fails (a conflict, a refused projection, the database down) the
    /// grain keeps the state it had, which is still what the database holds, and the error propagates. A projection's
    /// refusal (a <see cref="PlatformException"/>, which Orleans' storage bridge wraps in an
    /// <see cref="OrleansException"/>) is rethrown as itself, so the caller sees which field was at fault.
    /// </summary>
    public static async Task WriteOrRevertAsync<T>(this IPersistentState<T> state, T newState)
    {
        var previous = state.State;
        state.State = newState;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e)
        {
            state.State = previous;
            if (e is OrleansException { InnerException: PlatformException refusal }) ExceptionDispatchInfo.Throw(refusal);
            throw;
        }
    }
}
