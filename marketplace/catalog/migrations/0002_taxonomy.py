"""The catalog's facets, seeded with real industrial terms in English and Simplified Chinese.

Staff can add more in the Django admin; this migration only creates what is missing.
"""

from django.db import migrations

TERMS = {
    "industry": [
        ("automotive-parts", "Automotive parts", "汽车零部件"),
        ("electronics", "Electronics", "电子制造"),
        ("textiles", "Textiles and apparel", "纺织服装"),
        ("food-beverage", "Food and beverage", "食品饮料"),
        ("chemicals", "Chemicals", "化工"),
        ("machinery", "Machinery and equipment", "机械装备"),
        ("metal-processing", "Metal processing", "金属加工"),
        ("plastics-rubber", "Plastics and rubber", "塑料橡胶"),
        ("pharmaceuticals", "Pharmaceuticals", "医药制造"),
        ("building-materials", "Building materials", "建材"),
    ],
    "scenario": [
        ("predictive-maintenance", "Predictive maintenance", "预测性维护"),
        ("visual-quality-inspection", "Visual quality inspection", "视觉质检"),
        ("energy-management", "Energy management", "能源管理"),
        ("oee-monitoring", "OEE monitoring", "设备综合效率监控"),
        ("production-scheduling", "Production scheduling", "生产排程"),
        ("warehouse-logistics", "Warehouse logistics", "仓储物流"),
        ("safety", "Safety", "安全生产"),
        ("equipment-connectivity", "Equipment connectivity", "设备联网"),
        ("traceability", "Traceability", "质量追溯"),
    ],
    "deployment": [
        ("cloud", "Cloud", "云端"),
        ("edge", "Edge", "边缘"),
        ("on-premises", "On-premises", "本地部署"),
        ("hybrid", "Hybrid", "混合部署"),
    ],
    "protocol": [
        ("opc-ua", "OPC UA", "OPC UA"),
        ("modbus-tcp", "Modbus TCP", "Modbus TCP"),
        ("mqtt", "MQTT", "MQTT"),
        ("siemens-s7", "Siemens S7", "西门子 S7"),
        ("ethernet-ip", "EtherNet/IP", "EtherNet/IP"),
        ("profinet", "PROFINET", "PROFINET"),
    ],
    "pricing": [
        ("free-trial", "Free trial", "免费试用"),
        ("subscription", "Subscription", "订阅"),
        ("outcome-based", "Outcome-based", "按成效付费"),
        ("open-source", "Open source", "开源"),
    ],
}


def seed_terms(apps, schema_editor):
    Term = apps.get_model("catalog", "Term")
    for kind, rows in TERMS.items():
        for position, (slug, name, name_zh_hans) in enumerate(rows):
            Term.objects.get_or_create(
                kind=kind,
                slug=slug,
                defaults={"name": name, "name_zh_hans": name_zh_hans, "position": position},
            )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(seed_terms, migrations.RunPython.noop)]
