using Microsoft.EntityFrameworkCore;
using Moe.Web.Apis;

namespace Moe.Web.Queries;

/// <summary>The paging rules of every list (runs, evaluations, routing analyses): page from 1, at most 200 a page.</summary>
public static class Paging
{
    public const int MaxPageSize = 200, DefaultPageSize = 50;

    /// <summary>Page number and size, checked; a refusal names page or page_size.</summary>
    public static (int Number, int Size) Check(int? page, int? pageSize)
    {
        int size = pageSize ?? DefaultPageSize, number = page ?? 1;
        if (size is < 1 or > MaxPageSize) throw new PlatformException("page_size", $"must be between 1 and {MaxPageSize}");
        if (number < 1) throw new PlatformException("page", "must be 1 or more");
        // (page - 1) * page_size overflowed int for large pages and Skip went negative: the first page came back.
        if ((long)(number - 1) * size > int.MaxValue) throw new PlatformException("page", $"must be at most {int.MaxValue / size + 1} with page_size {size}");
        return (number, size);
    }

    /// <summary>One page of an ordered query, with the total the filter matches.</summary>
    public static async Task<PageOf<TView>> PageAsync<TRow, TView>(IQueryable<TRow> filtered, Func<IQueryable<TRow>, IOrderedQueryable<TRow>> order,
        Func<IQueryable<TRow>, IQueryable<TView>> view, (int Number, int Size) page, CancellationToken ct)
    {
        int total = await filtered.CountAsync(ct);
        var items = await view(order(filtered).Skip((page.Number - 1) * page.Size).Take(page.Size)).ToListAsync(ct);
        return new PageOf<TView>(items, total, page.Number, page.Size);
    }
}
