using System.Collections;

namespace Netdevd.Qapi.Objects;

/// <summary>JSON array.</summary>
public sealed class QList : QObject, IReadOnlyList<QObject>
{
    private readonly List<QObject> _items = [];

    public QList()
    {
    }

    public QList(IEnumerable<QObject> items) => _items.AddRange(items);

    public override QType Type => QType.List;

    public int Count => _items.Count;

    public QObject this[int index] => _items[index];

    public void Add(QObject item) => _items.Add(item);

    public IEnumerator<QObject> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
