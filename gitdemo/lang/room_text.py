"""What the class rooms write on the server (`serving.rooms`, the Class tab, the wall): English template ->
(Arabic, Simplified Chinese). `ROOM_LABELS` are the Class tab's labels, for the browser's table
(`gitdemo.ui.i18n`)."""
from __future__ import annotations

ROOM_TEXT: dict[str, tuple[str, str]] = {
    # serving.rooms: errors and bounds
    "No class with this code (and key) is open: check what you typed, or the class has ended.": (
        "لا يوجد صف مفتوح بهذا الرمز (وهذا المفتاح): تحقّق مما كتبت، أو أن الصف قد انتهى.",
        "没有以此代码(和密钥)开放的课堂:请检查输入,或者课堂已经结束。"),
    "No class with this code is open (it may have ended): leave the class in the Class tab to go on without it.": (
        "لا يوجد صف مفتوح بهذا الرمز (ربما انتهى): غادر الصف في تبويب «الصف» لتتابع من دونه.",
        "没有以此代码开放的课堂(可能已经结束):请在“课堂”标签页中离开课堂,再继续使用。"),
    "No post with this id and key is in this class.": (
        "لا توجد في هذا الصف مشاركة بهذا المعرّف وهذا المفتاح.", "此课堂中没有这个编号和密钥的帖子。"),
    "Too many wrong codes or keys from here: wait a minute, then try again.": (
        "رموز أو مفاتيح خاطئة كثيرة من هنا: انتظر دقيقة ثم حاول مرة أخرى.", "这里输入了太多错误的代码或密钥:请等一分钟再试。"),
    "This server already holds as many open classes as it can ({n}): close one, or wait until one ends.": (
        "يستضيف هذا الخادم أكبر عدد ممكن من الصفوف المفتوحة ({n}): أغلق أحدها أو انتظر حتى ينتهي أحدها.",
        "此服务器开放的课堂已达上限({n} 个):请关闭一个,或等待某个课堂结束。"),
    "This class's wall is full ({n} posts): the teacher can open a new class.": (
        "جدار هذا الصف ممتلئ ({n} مشاركة): يمكن للمعلم أن يفتح صفًا جديدًا.", "此课堂的展示墙已满({n} 条帖子):老师可以开一个新课堂。"),
    # the Class tab: student
    "Class code": ("رمز الصف", "课堂代码"),
    "You are in class **{code}**: every caption, answer and PaliGemma answer you make now is posted to the class "
    "wall. Leave the class to stop.": (
        "أنت في الصف **{code}**: كل وصف وإجابة وإجابة PaliGemma تصنعها الآن تُنشر على جدار الصف. غادر الصف لتتوقف.",
        "你在课堂 **{code}** 中:你现在生成的每条描述、回答和 PaliGemma 回答都会发布到课堂展示墙。离开课堂即可停止。"),
    "You are not in a class: nothing you make is posted.": ("لست في صف: لا يُنشر شيء مما تصنعه.",
                                                            "你不在任何课堂中:你生成的内容不会被发布。"),
    "No posts of yours in this class.": ("لا مشاركات لك في هذا الصف.", "你在此课堂中没有帖子。"),
    "{n} of your posts are on the class wall.": ("{n} من مشاركاتك على جدار الصف.", "你有 {n} 条帖子在课堂展示墙上。"),
    "Pick one of your posts first.": ("اختر إحدى مشاركاتك أولًا.", "请先选择你的一条帖子。"),
    # the Class tab: teacher
    "The class is closed: its {n} posts are gone from the server.": (
        "أُغلق الصف: حُذفت مشاركاته الـ{n} من الخادم.", "课堂已关闭:它的 {n} 条帖子已从服务器上删除。"),
    "Open a class (or show its wall) first.": ("افتح صفًا (أو اعرض جداره) أولًا.", "请先开一个课堂(或显示它的展示墙)。"),
    "This class has ended.": ("انتهى هذا الصف.", "此课堂已结束。"),
    "no word: the pictures": ("بلا كلمة: الصور", "不选词:看图片"),
    # the wall (ui.wall)
    "No posts yet: students join with the code, then caption or ask.": (
        "لا مشاركات بعد: ينضم الطلاب بالرمز، ثم يصفون الصور أو يسألون عنها.", "还没有帖子:学生用代码加入,然后生成描述或提问。"),
    "No post says “{word}”.": ("لا توجد مشاركة تقول «{word}».", "没有帖子说“{word}”。"),
    "{k} of {n} posts say “{word}”; every map below uses the same colour scale.": (
        "{k} من {n} مشاركة تقول «{word}»؛ كل الخرائط أدناه تستخدم مقياس الألوان نفسه.",
        "{n} 条帖子中有 {k} 条说“{word}”;下面每张图都使用同一个色标。"),
    "Colour: from 0 to {vmax} times an even share of the patches (viridis; brighter is more).": (
        "اللون: من 0 إلى {vmax} ضعف الحصة المتساوية للرقع (viridis؛ الأفتح أكثر).",
        "颜色:从 0 到图块平均份额的 {vmax} 倍(viridis;越亮越多)。"),
    "Post {n}, “{text}”: the map of “{word}”; its strongest patch is row {row}, column {col} of {rows} x {cols}, "
    "{peak} times an even share.": (
        "المشاركة {n}، «{text}»: خريطة «{word}»؛ أقوى رقعة فيها في الصف {row} والعمود {col} من {rows} × {cols}، "
        "أي {peak} ضعف الحصة المتساوية.",
        "帖子 {n},“{text}”:“{word}”的注意力图;最强的图块在 {rows} × {cols} 中的第 {row} 行、第 {col} 列,是平均份额的 "
        "{peak} 倍。"),
    "Post {n}: what the model saw; it wrote “{text}”.": ("المشاركة {n}: ما رآه النموذج؛ وكتب «{text}».",
                                                          "帖子 {n}:模型看到的图像;它写了“{text}”。"),
    "{n} posts from the class.": ("{n} مشاركة من الصف.", "来自课堂的 {n} 条帖子。"),
    "asked: {q}": ("السؤال: {q}", "问题:{q}"),
    "All tokens": ("كل الرموز", "所有词元"),
    "“{word}”": ("«{word}»", "“{word}”"),
    "{label}: on average {image} of the attention went to image patches, {cls} to CLS, {text} to the text.": (
        "{label}: في المتوسط ذهب {image} من الانتباه إلى رقع الصورة، و{cls} إلى CLS، و{text} إلى النص.",
        "{label}:平均有 {image} 的注意力落在图像图块上,{cls} 落在 CLS 上,{text} 落在文本上。"),
    "How many posts say each word": ("كم مشاركة تقول كل كلمة", "每个词出现在多少条帖子中"),
    "word": ("الكلمة", "词"),
    "posts": ("المشاركات", "帖子数"),
}

ROOM_LABELS: dict[str, tuple[str, str]] = {
    "Class": ("الصف", "课堂"),
    "Class code": ROOM_TEXT["Class code"],
    "You are not in a class: nothing you make is posted.": ROOM_TEXT["You are not in a class: nothing you make is posted."],
    "Class code (your results are posted to the class wall)": ("رمز الصف (تُنشر نتائجك على جدار الصف)",
                                                              "课堂代码(你的结果会发布到课堂展示墙)"),
    "Presenter mode (projector: large type, the lesson's controls only)": (
        "وضع العرض (لجهاز العرض: خط كبير، وأدوات الدرس فقط)", "演示模式(投影仪:大字号,只显示课堂所需的控件)"),
    "A class together: students join with the teacher's code and everything they caption or ask is gathered on the "
    "teacher's wall, where one word's maps from the whole class sit side by side. Posts live only in the server's "
    "memory and are gone when the class closes.": (
        "صفّ معًا: ينضم الطلاب برمز المعلم، وكل ما يصفونه أو يسألون عنه يُجمع على جدار المعلم، حيث تصطف خرائط كلمة "
        "واحدة من الصف كله جنبًا إلى جنب. تبقى المشاركات في ذاكرة الخادم فقط وتزول عند إغلاق الصف.",
        "一起上课:学生用老师的代码加入,他们生成的描述和提出的问题都会汇集到老师的展示墙上,全班同一个词的注意力图并排显示。"
        "帖子只保存在服务器内存中,课堂关闭后即消失。"),
    "## Student: join a class": ("## الطالب: انضم إلى صف", "## 学生:加入课堂"),
    "Join the class": ("انضم إلى الصف", "加入课堂"),
    "Leave the class": ("غادر الصف", "离开课堂"),
    "My posts: pick one to withdraw it": ("مشاركاتي: اختر واحدة لسحبها", "我的帖子:选择一条以撤回"),
    "Show my posts": ("اعرض مشاركاتي", "显示我的帖子"),
    "Withdraw this post": ("اسحب هذه المشاركة", "撤回这条帖子"),
    "## Teacher: open a class and watch its wall": ("## المعلم: افتح صفًا وتابع جداره", "## 老师:开一个课堂并查看展示墙"),
    "Open a new class": ("افتح صفًا جديدًا", "开一个新课堂"),
    "Link for students": ("رابط للطلاب", "学生链接"),
    "Teacher link (private: it opens the wall)": ("رابط المعلم (خاص: يفتح الجدار)", "老师链接(私密:可打开展示墙)"),
    "Show the wall of a class already open (for example on another device)": (
        "اعرض جدار صف مفتوح بالفعل (مثلًا على جهاز آخر)", "显示一个已开课堂的展示墙(例如在另一台设备上)"),
    "Teacher key": ("مفتاح المعلم", "老师密钥"),
    "Show the wall": ("اعرض الجدار", "显示展示墙"),
    "Pick a word: every post that says it shows its map": ("اختر كلمة: كل مشاركة تقولها تعرض خريطتها",
                                                           "选择一个词:每条说到它的帖子都会显示它的注意力图"),
    "Close the class (removes every post)": ("أغلق الصف (يحذف كل المشاركات)", "关闭课堂(删除所有帖子)"),
}

__all__ = ["ROOM_TEXT", "ROOM_LABELS"]
