// report.html's script: draws the OU tree, the accounts and their blockers lazily from the
// JSON block. It only ever sets textContent (names from AWS are text, never markup) and makes
// no request (the page's Content-Security-Policy forbids any).
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var C = D.checks, N = D.nodes, A = D.accounts;
  var STATUS = { c: 'clean', b: 'blocking', i: 'incomplete', x: 'excluded' };
  var LABEL = { c: 'clean', b: 'blocked', i: 'collection gap', x: 'excluded' };
  var PAGE = 200;
  var nc = C.length;
  var kidsN = N.map(function () { return []; });
  var kidsA = N.map(function () { return []; });
  N.forEach(function (n, i) { if (n[2] >= 0) kidsN[n[2]].push(i); });
  A.forEach(function (a, i) { kidsA[a[3]].push(i); });
  var attachN = {}, attachA = {};
  C.forEach(function (c, ci) {
    c.targets.forEach(function (t, ti) {
      var m = t[0] === 'account' ? attachA : attachN;
      (m[t[1]] = m[t[1]] || []).push([ci, ti]);
    });
  });
  var blk = {};
  C.forEach(function (c, ci) {
    c.blockers.forEach(function (b) { (blk[b[0]] = blk[b[0]] || {})[ci] = b; });
  });
  var total = N.map(function () { return 0; });
  var gaps = N.map(function () { return 0; });
  var blocked = N.map(function () { return new Array(nc).fill(0); });
  A.forEach(function (a) {
    var gap = a[4].indexOf('i') >= 0;
    for (var p = a[3]; p >= 0; p = N[p][2]) {
      total[p]++;
      if (gap) gaps[p]++;
      for (var k = 0; k < nc; k++) {
        var s = a[4].charAt(k);
        if (s === 'b' || s === 'i') blocked[p][k]++;
      }
    }
  });
  var sel = -1;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function badge(cls, text, title) {
    var b = el('span', 'badge ' + cls, text);
    if (title) b.title = title;
    return b;
  }
  function shown(ci) { return sel < 0 || ci === sel; }
  function attachBadges(parent, list) {
    list = (list || []).filter(function (x) { return shown(x[0]); });
    if (sel < 0 && list.length > 3) {
      parent.appendChild(badge('attach', list.length + ' guardrails attached',
        list.map(function (x) { return C[x[0]].id; }).join(', ')));
      return;
    }
    list.forEach(function (x) {
      var t = C[x[0]].targets[x[1]];
      var carved = t[5].map(function (ai) { return A[ai][1] + ' (' + A[ai][0] + ')'; });
      if (t[6]) carved.push('and ' + t[6] + ' more');
      var title = t[8] + (t[4] ? ' Allowlist: ' + t[4] + '.' : '') +
        (carved.length ? ' Carved out: ' + carved.join('; ') + '.' : '') + ' Terraform: ' + t[7];
      parent.appendChild(badge('attach', 'attached: ' + C[x[0]].id, title));
      if (sel >= 0) {
        parent.appendChild(el('span', 'muted', ' ' + t[7] + (t[4] ? ' · allowlist: ' + t[4] : '') +
          (carved.length ? ' · carved out: ' + carved.join('; ') : '')));
      }
    });
  }
  function nodeSummary(i) {
    var s = el('summary');
    s.appendChild(el('span', 'name', N[i][1]));
    s.appendChild(el('span', 'id', ' ' + N[i][0]));
    s.appendChild(el('span', 'muted', ' · ' + total[i] + (total[i] === 1 ? ' account' : ' accounts')));
    attachBadges(s, attachN[N[i][0]]);
    if (sel < 0) {
      var nb = 0;
      for (var k = 0; k < nc; k++) if (blocked[i][k]) nb++;
      if (nb) s.appendChild(badge('block', nb + (nb === 1 ? ' check' : ' checks') + ' blocked beneath'));
    } else if (blocked[i][sel]) {
      s.appendChild(badge('block', blocked[i][sel] + ' blocking beneath'));
    }
    if (gaps[i]) s.appendChild(badge('gap', gaps[i] + ' with collection gaps'));
    return s;
  }
  function accountRow(ai, withPath) {
    var a = A[ai];
    var div = el('div', 'acct');
    div.setAttribute('data-account', a[0]);
    div.appendChild(el('span', 'name', a[1]));
    div.appendChild(el('span', 'id', ' ' + a[0] + ' ' + a[2]));
    if (withPath) div.appendChild(el('span', 'muted', ' in ' + path(a[3])));
    attachBadges(div, attachA[a[0]]);
    var clean = 0, excluded = 0;
    for (var k = 0; k < nc; k++) {
      if (!shown(k)) continue;
      var s = a[4].charAt(k);
      if (sel < 0 && s === 'c') { clean++; continue; }
      if (sel < 0 && s === 'x') { excluded++; continue; }
      div.appendChild(badge(STATUS[s], (sel < 0 ? C[k].id + ': ' : '') + LABEL[s]));
    }
    if (clean) div.appendChild(badge('clean', 'clean for ' + clean + (clean === 1 ? ' check' : ' checks')));
    if (excluded) div.appendChild(badge('excluded', 'excluded from ' + excluded + (excluded === 1 ? ' check' : ' checks')));
    var mine = blk[ai] || {};
    for (var ci = 0; ci < nc; ci++) {
      var b = mine[ci];
      if (!b || !shown(ci)) continue;
      var line = el('div', 'finding');
      line.appendChild(el('code', null, C[ci].id));
      line.appendChild(el('span', b[1] === 'incomplete' ? 'gap' : null, ' ' + b[1] + (b[2] ? ': ' + b[2] : '')));
      div.appendChild(line);
      b[3].forEach(function (f) {
        div.appendChild(el('div', 'finding', '↳ ' + f[0] + ' (' + f[1] + (f[2] ? ', ' + f[2] : '') + ')'));
      });
      if (b[4]) div.appendChild(el('div', 'finding muted', '↳ and ' + b[4] + ' more resources: see results/'));
    }
    return div;
  }
  function path(p) {
    var names = [];
    for (; p >= 0; p = N[p][2]) names.unshift(N[p][1]);
    return names.join(' / ');
  }
  function node(i, open) {
    var d = el('details');
    d.setAttribute('data-node', N[i][0]);
    d.appendChild(nodeSummary(i));
    var filled = false;
    function more(list, from) {
      var end = Math.min(list.length, from + PAGE);
      for (var j = from; j < end; j++) d.appendChild(accountRow(list[j], false));
      if (end < list.length) {
        var btn = el('button', null, 'show ' + Math.min(PAGE, list.length - end) + ' more of ' + (list.length - end));
        btn.addEventListener('click', function () { btn.remove(); more(list, end); });
        d.appendChild(btn);
      }
    }
    function fill() {
      if (filled) return;
      filled = true;
      kidsN[i].forEach(function (k) { d.appendChild(node(k, false)); });
      more(kidsA[i], 0);
    }
    d.addEventListener('toggle', function () { if (d.open) fill(); });
    if (open) { d.open = true; fill(); }
    return d;
  }
  function drawTree() {
    var tree = document.getElementById('tree');
    tree.textContent = '';
    if (N.length) tree.appendChild(node(0, true));
  }
  function drawResults() {
    var q = document.getElementById('search').value.trim().toLowerCase();
    var out = document.getElementById('results');
    var count = document.getElementById('count');
    out.textContent = '';
    if (!q) { count.textContent = A.length + ' accounts'; return; }
    var hits = [];
    for (var i = 0; i < A.length; i++) {
      if (A[i][0].indexOf(q) >= 0 || A[i][1].toLowerCase().indexOf(q) >= 0) hits.push(i);
    }
    count.textContent = hits.length + (hits.length === 1 ? ' account matches' : ' accounts match');
    hits.slice(0, PAGE).forEach(function (ai) { out.appendChild(accountRow(ai, true)); });
    if (hits.length > PAGE) out.appendChild(el('p', 'muted', 'and ' + (hits.length - PAGE) + ' more: refine the search'));
  }
  document.getElementById('check').addEventListener('change', function (e) {
    sel = e.target.value === '' ? -1 : Number(e.target.value);
    drawTree();
    drawResults();
  });
  var timer = null;
  document.getElementById('search').addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(drawResults, 120);
  });
  drawTree();
  drawResults();
  document.body.setAttribute('data-ready', 'true');
}());
